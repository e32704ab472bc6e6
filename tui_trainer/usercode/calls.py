"""Importing a preset's own code and calling it: only once it is trusted (:mod:`.trust`), once per
file and version in a process, and with whatever goes wrong said in one line, followed where the
user's code raised by the frames of the traceback that are theirs (not this tool's, not torch's)."""

from __future__ import annotations

import difflib
import hashlib
import importlib
import importlib.util
import sys
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

from .refs import CodeError, CodeRef
from .trust import require

#: Files already imported in this process: (path, its hash) -> module.
_IMPORTED: dict[tuple[Path, str | None], ModuleType] = {}
#: Where a frame is not the user's: this package and the libraries it calls their code through.
_NOT_THEIRS = [Path(__file__).resolve().parent.parent]


def _libraries() -> list[Path]:
    out = list(_NOT_THEIRS)
    torch = sys.modules.get("torch")
    if torch is not None and getattr(torch, "__file__", None):
        out.append(Path(torch.__file__).resolve().parent)
    return out


def their_frames(exc: BaseException) -> str:
    """The traceback of ``exc`` cut to the frames in the user's files, and its last line."""
    skip = _libraries()
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if not f.filename.startswith("<") and not any(Path(f.filename).resolve().is_relative_to(p) for p in skip)
              and "importlib" not in f.filename]
    lines = traceback.format_list(frames) + traceback.format_exception_only(type(exc), exc)
    return "".join(lines).rstrip()


def _failed(ref: CodeRef, doing: str, exc: BaseException) -> CodeError:
    first = f"{ref.key}: {doing} {ref.where} raised {type(exc).__name__}: {exc}".splitlines()[0]
    return CodeError(f"{first}\n{their_frames(exc)}")


def _import_file(ref: CodeRef) -> ModuleType:
    path, digest = ref.file, ref.digest()
    if (path, digest) in _IMPORTED:
        return _IMPORTED[(path, digest)]
    name = f"_tui_trainer_code.{path.stem}_{hashlib.sha256(str(path).encode()).hexdigest()[:8]}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise CodeError(f"{ref.key}: {path} cannot be imported as Python code")
    module = importlib.util.module_from_spec(spec)
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)  # as `python file.py` does: the file may import its neighbours
    sys.modules[name] = module  # pickling, dataclasses and typing find it by its name
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(name, None)
        raise _failed(ref, "importing", exc) from None
    _IMPORTED[(path, digest)] = module
    return module


def _import_module(ref: CodeRef) -> ModuleType:
    try:
        return importlib.import_module(ref.module)
    except ModuleNotFoundError as exc:
        if exc.name and (ref.module == exc.name or ref.module.startswith(exc.name + ".")):
            raise CodeError(f"{ref.key}: no module named {exc.name!r}: install it, or name a file "
                            f'("path/to/file.py:{ref.name}")') from None
        raise _failed(ref, "importing", exc) from None
    except Exception as exc:
        raise _failed(ref, "importing", exc) from None


def load(ref: CodeRef) -> Callable[..., Any]:
    """The callable ``ref`` names, imported once it is trusted."""
    require(ref)
    module = _import_file(ref) if ref.file is not None else _import_module(ref)
    if not hasattr(module, ref.name):
        names = [n for n in vars(module) if not n.startswith("_") and callable(getattr(module, n))]
        close = difflib.get_close_matches(ref.name, names, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else (f" (it has: {', '.join(names[:8])})" if names else "")
        raise CodeError(f"{ref.key}: {ref.file or ref.module} has no {ref.name!r}{hint}")
    found = getattr(module, ref.name)
    if not callable(found):
        raise CodeError(f"{ref.key}: {ref.where} is {type(found).__name__} {found!r}, not a function or class")
    return found


def call(ref: CodeRef, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``function(*args, **kwargs)``; what it raises becomes one line naming ``ref``, and its frames."""
    try:
        return function(*args, **kwargs)
    except TypeError as exc:
        if exc.__traceback__ is not None and exc.__traceback__.tb_next is None:  # the call itself: its arguments
            raise CodeError(f"{ref.key}: {ref.where} cannot be called so: {exc}") from None
        raise _failed(ref, "calling", exc) from None
    except Exception as exc:
        raise _failed(ref, "calling", exc) from None
