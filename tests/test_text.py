"""Text for language modelling (issue 10, first part): the corpus in contiguous blocks, the
vocabulary from the training block, next-character targets, the LSTM language model, its
metrics per character, and one line for each unreadable file."""

from __future__ import annotations

import math

import pytest
import torch
from helpers import make_config
from typer.testing import CliRunner

from tui_trainer.cli.app import app
from tui_trainer.config.schema import DataConfig
from tui_trainer.data import DatasetError, load_data, split_sizes
from tui_trainer.data import text as text_module

CORPUS = "the cat sat on the mat. " * 200  # 4,800 characters


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text(CORPUS, encoding="utf-8")
    return path


def test_blocks_are_contiguous_and_targets_are_the_next_characters(corpus):
    config = DataConfig(dataset="text", path=str(corpus), seq_len=16)
    data = load_data(config)
    vocab = data.spec.classes
    assert vocab[0] == text_module.UNKNOWN and set(vocab[1:]) == set(CORPUS)
    assert data.spec.task == "language_modelling" and data.spec.input_shape == (16,)
    decode = "".join
    first = decode(vocab[i] for i in data.train.x[0].tolist())
    assert first == CORPUS[:16] and decode(vocab[i] for i in data.train.y[0].tolist()) == CORPUS[1:17]
    # the blocks follow each other in the text: validation starts where training's 90 % ends
    cut = int(len(CORPUS) * 0.9)
    assert decode(vocab[i] for i in data.val.x[0].tolist()) == CORPUS[cut : cut + 16]
    assert (len(data.train), len(data.val), len(data.test)) == split_sizes(config)


def test_the_default_corpus_is_offline():
    spec = text_module.spec(DataConfig(dataset="text"))
    assert "pydoc_data" in spec.source and spec.num_classes > 90 and spec.train_size > 3000


def test_a_tiny_corpus_trains_an_lstm_language_model(corpus):
    from tui_trainer.engine import Trainer

    config = make_config({"data.dataset": "text", "data.path": str(corpus), "data.seq_len": 16, "model.kind": "lstm",
                          "model.lstm.hidden_size": 32, "model.lstm.num_layers": 1, "model.lstm.embedding_dim": 16,
                          "train.epochs": 6, "train.batch_size": 16, "train.lr": 0.01,
                          "tricks.early_stopping.monitor": "val_bits_per_char"})
    trainer = Trainer(config, keep_events=True)
    summary = trainer.run().summary
    assert summary["headline"] == "test_bits_per_char" and summary["headline_mode"] == "min"
    auto = Trainer(make_config({"data.dataset": "text", "data.path": str(corpus), "data.seq_len": 16,
                                "model.kind": "lstm", "train.batch_size": 16}))
    auto.prepare()
    # monitor "auto": the task's own metric
    assert auto.parts.early.monitor == "val_bits_per_char" and auto.parts.early.mode == "min"
    bpc = summary["test_metrics"]["test_bits_per_char"]
    assert bpc == pytest.approx(summary["test_loss"] / math.log(2))
    assert summary["test_metrics"]["test_perplexity"] == pytest.approx(math.exp(summary["test_loss"]))
    assert bpc < 2.0  # a repeated sentence is learnt (uniform over 13 symbols would be 3.7 bits)
    out = trainer.model.eval()(trainer.data.test.x[:2])
    assert out.shape == (2, 16, len(trainer.data.spec.classes))
    epochs = [e for e in trainer.record.events if type(e).__name__ == "EpochEnded"]
    assert set(epochs[-1].metrics) == {"val_bits_per_char", "val_perplexity"} and epochs[-1].val_accuracy is None


def test_the_language_model_refuses_what_would_see_ahead_or_does_not_apply(corpus):
    from tui_trainer.engine import Trainer
    from tui_trainer.errors import UserError

    base = {"data.dataset": "text", "data.path": str(corpus), "data.seq_len": 16, "model.kind": "lstm"}
    with pytest.raises(UserError, match="bidirectional: a language model must not read"):
        Trainer(make_config(base | {"model.lstm.bidirectional": True})).prepare()
    with pytest.raises(UserError, match='use model.kind = "lstm"'):
        Trainer(make_config(base | {"model.kind": "cnn"})).prepare()


@pytest.mark.parametrize("payload, match", [
    (b"", "is empty"),
    (b"   \n", "is empty"),
    (b"abc\x00def" * 100, "looks binary \\(a NUL byte at byte offset 3\\)"),
    ("café".encode("latin-1") * 100, "is not UTF-8 text \\(byte offset 3"),
    (b"short text", "too few for sequences of data.seq_len = 16"),
])
def test_unreadable_text_gets_one_line(tmp_path, payload, match):
    path = tmp_path / "bad.txt"
    path.write_bytes(payload)
    with pytest.raises(DatasetError, match=match) as error:
        load_data(DataConfig(dataset="text", path=str(path), seq_len=16))
    assert "\n" not in str(error.value) and str(path) in str(error.value)


def test_language_model_loss_is_per_character():
    from tui_trainer.engine.task import TASKS

    task = TASKS["language_modelling"]()
    output, target = torch.randn(3, 5, 7), torch.randint(0, 7, (3, 5))
    per_char = torch.nn.functional.cross_entropy(output.reshape(-1, 7), target.reshape(-1))
    assert task.loss(output, target).item() == pytest.approx(per_char.item())
    assert task.sums(output, target)[0].item() / 3 == pytest.approx(per_char.item())


def test_the_baselines_match_hand_worked_numbers():
    import numpy as np

    # vocabulary {0, 1}; training "0 0 1": unigram counts 2+1, 1+1 -> p(0) = 3/5, p(1) = 2/5
    # pairs (+1 each): 0->0: 2, 0->1: 2, 1->0: 1, 1->1: 1
    uni, bi = text_module.baselines(np.array([0, 0, 1]), np.array([0, 1, 1]), 2)
    assert uni == pytest.approx(-(math.log2(3 / 5) + 2 * math.log2(2 / 5)) / 3)
    assert bi == pytest.approx(-(math.log2(2 / 4) + math.log2(1 / 2)) / 2)


def test_the_default_corpus_states_its_baselines():
    """The default corpus is this Python's own documentation topics, which differ between Python
    versions (458,917 characters on 3.10, 464,970 on 3.11): the figures are worked out from it."""
    config = DataConfig(dataset="text")
    data = load_data(config)
    text, _ = text_module.read_text(config)
    train, val, _ = text_module.blocks(text)
    index = {ch: i for i, ch in enumerate(text_module.vocabulary(train))}
    uni, bi = text_module.baselines(text_module._ids(train, index), text_module._ids(val, index), len(index))
    assert 4.0 < uni < 5.5
    assert 2.5 < bi < uni  # the pairs predict better than the characters alone
    assert any(f"unigram {uni:.2f}, bigram {bi:.2f} bits/char" in note for note in data.notes)
    assert data.baselines["unigram"]["val_bits_per_char"] == pytest.approx(uni)


def test_generate_draws_from_the_vocabulary_and_repeats_with_its_seed(tmp_path, corpus):
    from tests.test_cli import cli

    runs = tmp_path / "runs"
    proc = cli("train", "lstm-mnist1d", "--set", "data.dataset=text", "--set", f"data.path={corpus}", "--set",
               "data.seq_len=16", "--set", "model.lstm.hidden_size=32", "--set", "model.lstm.num_layers=1", "--set",
               "model.lstm.embedding_dim=16", "--set", "train.batch_size=16", "--set",
               "tricks.lr_schedule.warmup_epochs=0", "--epochs", "4", "--lr", "0.01", "--json", "--runs-dir", runs,
               cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "validation baselines: unigram" in proc.stdout.splitlines()[0]
    # in this process: the model is loaded again for each command, as a new process would
    args = ["generate", "latest", "--prompt", "the ", "--length", "120", "--seed", "3", "--top-k", "5", "--runs-dir",
            str(runs)]
    first, again = CliRunner().invoke(app, args), CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    text = first.stdout.rstrip("\n")
    assert text.startswith("the ") and len(text) == 124 and set(text) <= set(CORPUS)
    assert again.stdout == first.stdout
    other = CliRunner().invoke(app, ["generate", "latest", "--length", "120", "--seed", "4", "--runs-dir", str(runs)])
    assert other.stdout != first.stdout
    bad = CliRunner().invoke(app, ["generate", "latest", "--temperature", "0", "--runs-dir", str(runs)])
    assert bad.exit_code == 2 and "--temperature must be above 0" in bad.output and "Traceback" not in bad.output
    assert "use --top-k 1" in bad.output  # what a temperature of 0 was meant to do
    import torch

    before = torch.get_num_threads()
    try:  # a character at a time: one thread by default, --threads as every command that computes takes it
        torch.set_num_threads(2)
        assert CliRunner().invoke(app, args).stdout == first.stdout and torch.get_num_threads() == 1
        assert CliRunner().invoke(app, [*args, "--threads", "2"]).stdout == first.stdout
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def tiny_lm(corpus, **more):
    return make_config({"data.dataset": "text", "data.path": str(corpus), "data.seq_len": 16, "model.kind": "lstm",
                        "model.lstm.hidden_size": 32, "model.lstm.num_layers": 1, "model.lstm.embedding_dim": 16,
                        "train.batch_size": 16, "train.lr": 0.01, "sample.length": 40, "sample.min_seconds": 0, **more})


def test_live_samples_after_each_epoch_and_when_asked(corpus):
    from tui_trainer.engine import Control, Trainer
    from tui_trainer.engine.commands import Sample
    from tui_trainer.engine.events import SampleText, StepStats

    control = Control()
    asked = []

    def ask_once(event):
        if isinstance(event, StepStats) and not asked:
            asked.append(event.first_step)
            control.submit(Sample())

    trainer = Trainer(tiny_lm(corpus, **{"train.epochs": 3, "train.stats_every": 4, "sample.prompt": "the "}),
                      sinks=[ask_once], keep_events=True)
    summary = trainer.run(control).summary
    samples = [e for e in trainer.record.events if isinstance(e, SampleText)]
    assert [s.trigger for s in samples] == ["request", "epoch", "epoch", "epoch"]
    assert [s.epoch for s in samples[1:]] == [1, 2, 3]
    assert samples[0].epoch == 0 and samples[0].step >= asked[0]
    for s in samples:
        assert s.text.startswith("the ") and len(s.text) == 44 and set(s.text) <= set(CORPUS) and s.seconds >= 0
    assert summary["train_tokens_per_second"] == pytest.approx(summary["train_samples_per_second"] * 16)
    assert summary["baselines"]["bigram"]["test_bits_per_char"] > 0
    # the same run draws the same samples (each from its own seed), and samples leave training's streams alone
    again = Trainer(tiny_lm(corpus, **{"train.epochs": 3, "train.stats_every": 4, "sample.prompt": "the ",
                                       "sample.every_epoch": False}), keep_events=True)
    quiet = again.run().summary
    assert not [e for e in again.record.events if isinstance(e, SampleText)]
    assert quiet["test_loss"] == summary["test_loss"]


def test_samples_are_written_to_metrics_jsonl_and_read_back(tmp_path, corpus):
    from tui_trainer.engine import Trainer
    from tui_trainer.engine.events import SampleText
    from tui_trainer.runs import RunFolder
    from tui_trainer.runs.follow import MetricsFollower

    trainer = Trainer(tiny_lm(corpus, **{"train.epochs": 1}))
    trainer.prepare()
    folder = RunFolder.create(tmp_path / "runs", "tiny")
    trainer.attach(folder)
    trainer.run()
    events = MetricsFollower(folder.path / "metrics.jsonl").poll()
    samples = [e for e in events if isinstance(e, SampleText)]
    assert len(samples) == 1 and samples[0].trigger == "epoch" and len(samples[0].text) == 41
    started = events[0]
    assert started.tokens_per_sample == 16 and set(started.baselines) == {"unigram", "bigram"}


def test_the_lessons_optimized_rnn_preset_builds_the_lessons_model():
    """OptimizedRNN as the lesson writes it: Embedding, nn.LSTM(..., dropout=0.3) on one layer,
    Dropout(0.5), Linear. The preset's model computes the same function once the weights are
    copied, in train mode too (the same dropout mask: one Dropout(0.5) before the head)."""
    import warnings

    from torch import nn

    from tui_trainer.config.presets import load_preset
    from tui_trainer.data import dataset_spec
    from tui_trainer.models import build_model, model_notes

    class OptimizedRNN(nn.Module):
        def __init__(self, vocab_size, embed_dim, hidden_dim):
            super().__init__()
            self.embedding = nn.Embedding(vocab_size, embed_dim)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                self.lstm = nn.LSTM(embed_dim, hidden_dim, batch_first=True, dropout=0.3)
            self.warned = any("dropout option adds dropout "
                              "after all but last recurrent layer" in str(w.message) for w in caught)
            self.dropout = nn.Dropout(0.5)
            self.fc = nn.Linear(hidden_dim, vocab_size)

        def forward(self, x):
            out, _ = self.lstm(self.embedding(x))
            return self.fc(self.dropout(out))

    config, _ = load_preset("text-optimized-rnn")
    spec = dataset_spec(config.data)
    ours = build_model(spec, config)
    lesson = OptimizedRNN(spec.num_classes, 64, 256)
    assert lesson.warned  # PyTorch says the lesson's dropout=0.3 does nothing here
    lesson.embedding.load_state_dict(ours.embedding.state_dict())
    lesson.lstm.load_state_dict(ours.lstms[0].state_dict())
    lesson.fc.load_state_dict(ours.head.state_dict())
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in lesson.parameters())
    x = torch.randint(0, spec.num_classes, (3, 20))
    for train in (False, True):
        ours.train(train), lesson.train(train)
        torch.manual_seed(1)
        a = ours(x)
        torch.manual_seed(1)
        assert torch.allclose(a, lesson(x), atol=1e-5)
    assert any("inner_dropout = "
               "0.3 does nothing with one layer" in note and "p = 0.5" in note for note in model_notes(config))


def test_each_epoch_cuts_the_training_block_at_a_new_offset(corpus):
    from tui_trainer.data.splits import TextSplit

    config = DataConfig(dataset="text", path=str(corpus), seq_len=16)
    data = load_data(config)
    train = data.train
    block = int(len(CORPUS) * 0.9)
    assert isinstance(train, TextSplit) and len(train) == text_module.train_sequences(block, 16) == (block - 16) // 16
    span = len(train) * 16
    generator = torch.Generator().manual_seed(0)
    offsets = []
    for _ in range(8):
        epoch = train.for_epoch(generator)
        assert len(epoch) == len(train)  # every offset leaves the same number of sequences, so the same steps
        found = [o for o in range(16) if torch.equal(epoch.x.flatten(), train.ids[o : o + span])]
        # the next characters
        assert found and torch.equal(epoch.y.flatten(), train.ids[found[0] + 1 : found[0] + 1 + span])
        assert found[0] + 1 + span <= len(train.ids)  # never past the training block
        offsets.append(found[0])
    assert len(set(offsets)) > 2  # new places from epoch to epoch
    fixed = load_data(DataConfig(dataset="text", path=str(corpus), seq_len=16, random_offsets=False)).train
    assert torch.equal(fixed.for_epoch(generator).x, fixed.x)


def test_short_epochs_sample_at_most_every_min_seconds_and_always_at_the_end(corpus):
    from tui_trainer.engine import Trainer
    from tui_trainer.engine.events import SampleText

    trainer = Trainer(tiny_lm(corpus, **{"train.epochs": 4, "sample.min_seconds": 3600}), keep_events=True)
    events = trainer.run().events
    assert [s.epoch for s in events if isinstance(s, SampleText)] == [1, 4]  # the first epoch, then the last


def test_a_text_shorter_than_one_batch_is_refused_before_a_folder_is_made(tmp_path, corpus):
    from tests.test_cli import cli

    proc = cli("train", "lstm-text", "--set", f"data.path={corpus}", "--set", "data.seq_len=16", "--set",
               "train.batch_size=512", "--runs-dir", tmp_path / "runs", cwd=tmp_path)
    assert proc.returncode == 2 and "fewer than one batch (train.batch_size = 512)" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists()
