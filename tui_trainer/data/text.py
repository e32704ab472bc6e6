"""Characters for language modelling: any UTF-8 file (``data.path``), or offline by default the
Python documentation topics in the standard library (``pydoc_data.topics``, about 465,000
characters of English).

The text is cut into contiguous train / validation / test blocks (90 / 5 / 5 %), so no
sequence of one overlaps another's; the vocabulary is the training block's characters plus an
unknown symbol (index 0) for characters only the other blocks have. Each block becomes
non-overlapping sequences of ``data.seq_len`` characters with the next character as targets.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..config.schema import DataConfig
from .arrays import Arrays
from .spec import DatasetError, DataSpec, Progress

if TYPE_CHECKING:
    import numpy as np

UNKNOWN = "\ufffd"
FRACTIONS = (0.9, 0.05, 0.05)
DEFAULT = "pydoc_data.topics (the Python documentation topics in the standard library)"


def read_text(config: DataConfig) -> tuple[str, str]:
    """The text and where it came from; one line naming the file and the byte for what cannot be read."""
    if not config.path:
        from pydoc_data.topics import topics

        return "".join(topics[key] for key in sorted(topics)), DEFAULT
    path = Path(config.path).expanduser()
    return read_user_text(path, f"data.path: {path}", "a UTF-8 text file"), str(path)


def read_user_text(path: Path, where: str, wanted: str) -> str:
    """A user's text file as a string (a UTF-8 byte-order mark dropped). Missing, a folder,
    unreadable, empty, binary (a NUL byte) or not UTF-8: one line starting with ``where``,
    with the byte offset where there is one, saying to give ``wanted``."""
    if not path.is_file():
        raise DatasetError(f"{where} {'is a folder' if path.is_dir() else 'does not exist'}; give {wanted}")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DatasetError(f"{where} cannot be read ({exc.strerror or exc})") from None
    if not raw.strip():
        raise DatasetError(f"{where} is empty; give {wanted}")
    nul = raw.find(b"\x00")
    if nul >= 0:
        raise DatasetError(f"{where} looks binary (a NUL byte at byte offset {nul}); give {wanted}")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{where} is not UTF-8 text (byte offset {exc.start}: {raw[exc.start:exc.start + 1]!r}); "
                           "convert it, e.g. iconv -t UTF-8") from None


def blocks(text: str) -> tuple[str, str, str]:
    a = int(len(text) * FRACTIONS[0])
    b = a + int(len(text) * FRACTIONS[1])
    return text[:a], text[a:b], text[b:]


def vocabulary(train: str) -> tuple[str, ...]:
    return (UNKNOWN, *sorted(set(train) - {UNKNOWN}))


def train_sequences(characters: int, seq_len: int) -> int:
    """Sequences of the training block: room for every offset in [0, seq_len) (``TextSplit``)."""
    return max(0, (characters - seq_len) // seq_len)


def sequences(ids: np.ndarray, seq_len: int, n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``n`` (default: as many as fit) sequences of ``seq_len`` ids from the start, and their next ids."""
    n = max(0, (len(ids) - 1) // seq_len) if n is None else n
    x = ids[: n * seq_len].reshape(n, seq_len)
    y = ids[1 : n * seq_len + 1].reshape(n, seq_len)
    return x, y


def baselines(train: np.ndarray, held_out: np.ndarray, vocabulary_size: int) -> tuple[float, float]:
    """Bits per character of the held-out ids under the training block's unigram and bigram
    counts, each count plus one (so an unseen character or pair is possible, not infinite)."""
    import numpy as np

    unigram = np.bincount(train, minlength=vocabulary_size) + 1.0
    uni_bits = float(-np.log2(unigram[held_out] / unigram.sum()).mean())
    pairs = np.ones((vocabulary_size, vocabulary_size))
    np.add.at(pairs, (train[:-1], train[1:]), 1.0)
    bi_bits = float(-np.log2(pairs[held_out[:-1], held_out[1:]] / pairs[held_out[:-1]].sum(axis=1)).mean())
    return uni_bits, bi_bits


def spec(config: DataConfig) -> DataSpec:
    text, source = read_text(config)
    train, val, test = blocks(text)
    vocab = vocabulary(train)
    return DataSpec("text", (config.seq_len,), len(vocab), task="language_modelling",
                    train_size=train_sequences(len(train), config.seq_len) + (len(val) - 1) // config.seq_len,
                    val_size=(len(val) - 1) // config.seq_len, test_size=(len(test) - 1) // config.seq_len,
                    classes=vocab, source=source)


def state(config: DataConfig) -> str:
    return "in the standard library" if not config.path else "read on use"


def load_arrays(config: DataConfig, progress: Progress) -> Arrays:
    text, source = read_text(config)
    train, val, test = blocks(text)
    vocab = vocabulary(train)
    index = {ch: i for i, ch in enumerate(vocab)}
    train_ids, val_ids, test_ids = (_ids(b, index) for b in (train, val, test))
    x, y = sequences(train_ids, config.seq_len, train_sequences(len(train), config.seq_len))
    (x_val, y_val), (x_test, y_test) = (sequences(ids, config.seq_len) for ids in (val_ids, test_ids))
    if min(len(x), len(x_val), len(x_test)) < 1:
        need = config.seq_len * 20 + 1
        raise DatasetError(f"data.path: {source} has {len(text):,} characters, too few for sequences of data.seq_len = "
                           f"{config.seq_len} in each of the train/validation/test blocks "
                           f"(90/5/5 %): give at least {need:,} characters or a shorter data.seq_len")
    (uni, bi), (uni_test, bi_test) = (baselines(train_ids, ids, len(vocab)) for ids in (val_ids, test_ids))
    note = (f"validation baselines: unigram {uni:.2f}, bigram {bi:.2f} bits/char (the "
            "training block's character and pair counts, plus one); a model that learns anything beats the bigram")
    scores = {"unigram": {"val_bits_per_char": uni, "test_bits_per_char": uni_test},
              "bigram": {"val_bits_per_char": bi, "test_bits_per_char": bi_test}}
    return Arrays(x, y, x_test, y_test, classes=vocab, x_val=x_val, y_val=y_val, notes=(note,), baselines=scores,
                  train_ids=train_ids)


def _ids(block: str, index: dict[str, int]) -> np.ndarray:
    import numpy as np

    return np.fromiter((index.get(ch, 0) for ch in block), dtype=np.int64, count=len(block))
