"""What a preset's own code is, before anything is imported: ``package.module:callable`` (an
installed or importable module) or ``path/to/file.py:callable`` (a file, relative to the preset's
folder when the preset names it, to the working folder when ``--set`` does), and the hash of that
file, so that a run can say what it trained and the trust it was given can be checked."""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path

from ..errors import UserError

#: The settings that name code, by what they name.
KEYS = {"model.python.factory": "model", "data.python.loader": "data"}


class CodeError(UserError):
    """A preset's code cannot be found, imported, trusted or used; the message says what to fix."""


@dataclass(frozen=True)
class CodeRef:
    """``text`` as the preset has it; ``file``: the ``.py`` file it names (absolute), or None for a
    module; ``module``: the module's dotted name; ``name``: the callable's name in it."""

    key: str  # the setting: model.python.factory or data.python.loader
    text: str
    file: Path | None
    module: str
    name: str

    @property
    def where(self) -> str:
        """``/home/me/model.py:make_model`` or ``mypkg.models:make_model``."""
        return f"{self.file}:{self.name}" if self.file is not None else f"{self.module}:{self.name}"

    def origin(self) -> Path | None:
        """The file that will be imported: the named one, or the module's (found without importing
        it where it is a top-level module; a submodule's parent packages would have to be imported)."""
        if self.file is not None:
            return self.file
        if "." in self.module:
            return None
        try:
            spec = importlib.util.find_spec(self.module)
        except (ImportError, ValueError):
            return None
        return Path(spec.origin) if spec is not None and spec.origin and spec.has_location else None

    def digest(self) -> str | None:
        """The SHA-256 of the file it imports (hex), or None where that file is not known."""
        origin = self.origin()
        return file_digest(origin) if origin is not None and origin.is_file() else None


def file_digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def is_file_ref(text: str) -> bool:
    """A file (``model.py:make``, ``nets/model.py:make``) rather than a module (``nets.model:make``)."""
    target = text.rpartition(":")[0]
    return target.endswith(".py") or "/" in target or "\\" in target


def absolute(text: str, base: Path) -> str:
    """``text`` with a relative file made absolute against ``base`` (a module's name as it is)."""
    if not text or ":" not in text or not is_file_ref(text):
        return text
    target, _, name = text.rpartition(":")
    path = Path(target).expanduser()
    return f"{path if path.is_absolute() else (base / path).resolve()}:{name}"


def parse(key: str, text: str) -> CodeRef:
    """The reference ``text`` of the setting ``key``, or a :class:`CodeError` naming what to write."""
    target, sep, name = text.rpartition(":")
    if not sep or not target or not name.isidentifier():
        raise CodeError(f'{key}: {text!r} is not "package.module:function" or "path/to/file.py:function"')
    if is_file_ref(text):
        path = Path(target).expanduser().resolve()
        if not path.is_file():
            raise CodeError(f"{key}: {path} {'is a folder' if path.is_dir() else 'does not exist'}; "
                            "give the .py file that defines " + name)
        return CodeRef(key, text, path, path.stem, name)
    if not all(part.isidentifier() for part in target.split(".")):
        raise CodeError(f"{key}: {target!r} is not a module name (dotted, like mypkg.models) nor a .py file")
    return CodeRef(key, text, None, target, name)


def named(config) -> list[tuple[str, str]]:
    """(setting, text) of each setting of ``config`` that names code: the factory where ``model.kind``
    is "python", the loader where ``data.dataset`` is."""
    out = []
    if config.model.kind == "python":
        out.append(("model.python.factory", config.model.python.factory))
    if config.data.dataset == "python":
        out.append(("data.python.loader", config.data.python.loader))
    return out


def refs_of(config) -> list[CodeRef]:
    """The code ``config`` names (unparsed settings raise :class:`CodeError`)."""
    return [parse(key, text) for key, text in named(config)]

