"""Whether a preset's own code may run here. A preset that names Python code runs that code, so it
runs only when the user has said yes to it:

- ``--yes`` on the command line, or ``TUI_TRAINER_TRUST=1`` in the environment (headless use, CI);
  the command sets the variable for the processes it starts (a sweep's trials, torchrun's ranks);
- or once per file with ``tui-trainer presets trust PRESET``, which keeps the file's SHA-256 in
  ``$XDG_CONFIG_HOME/tui-trainer/trusted.json``: the same file runs again without a question, and a
  changed file is refused until it is trusted again.

Nothing here imports the code.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..atomic import atomic_write_text
from .refs import CodeError, CodeRef, named, parse, refs_of

ENV = "TUI_TRAINER_TRUST"


def store_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "tui-trainer" / "trusted.json"


def _store() -> dict[str, str]:
    try:
        data = json.loads(store_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # none yet, or unreadable: nothing is trusted (and nothing is lost: it is rewritten whole)
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _key(ref: CodeRef) -> str:
    """What the store keeps a reference under: its file, or its module's name."""
    origin = ref.origin()
    return str(origin) if origin is not None else f"module {ref.module}"


def allowed_by_environment() -> bool:
    return os.environ.get(ENV, "").strip().lower() in ("1", "yes", "true")


def is_trusted(ref: CodeRef) -> bool:
    """Trusted by the environment, or kept in the store with the hash its file has now."""
    if allowed_by_environment():
        return True
    kept = _store().get(_key(ref))
    return kept is not None and kept == (ref.digest() or "module")


def trust(ref: CodeRef) -> None:
    """Keep ``ref``'s file (its hash as it is now) as trusted."""
    kept = _store()
    kept[_key(ref)] = ref.digest() or "module"
    path = store_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(kept, indent=1, sort_keys=True) + "\n")


def allow_for_this_command() -> None:
    """``--yes``: this process and those it starts run the preset's code without asking."""
    os.environ[ENV] = "1"


def describe(ref: CodeRef) -> str:
    """``/home/me/model.py:make_model (sha256 1a2b3c4d5e6f, trusted)``: what a preset will import."""
    digest = ref.digest()
    state = "trusted" if is_trusted(ref) else "not trusted yet"
    return f"{ref.where} ({f'sha256 {digest[:12]}, ' if digest else ''}{state})"


def require(ref: CodeRef) -> None:
    """Refuse, in one line, code the user has not said yes to."""
    if is_trusted(ref):
        return
    changed = _key(ref) in _store()
    why = "has changed since you trusted it" if changed else "has not been trusted here"
    raise CodeError(f"{ref.key}: this preset runs Python code from {ref.where}, which {why}; read it, then run "
                    f"again with --yes (or {ENV}=1), or trust it as it is with `tui-trainer presets trust PRESET`")


def require_all(config) -> None:
    """Every piece of code ``config`` names found and trusted, before anything is imported."""
    for ref in refs_of(config):
        require(ref)


def imports(config) -> list[dict[str, object]]:
    """What ``config`` will import, said before anything runs (``presets show``, the app): for each
    setting that names code, where it is, its file's hash and whether it is trusted, or why it cannot be found."""
    out: list[dict[str, object]] = []
    for key, value in named(config):
        try:
            ref = parse(key, value)
        except CodeError as exc:
            out.append({"setting": key, "code": value, "problem": str(exc)})
            continue
        out.append({"setting": key, "code": ref.where, "sha256": ref.digest(), "trusted": is_trusted(ref)})
    return out


def untrusted(config) -> list[CodeRef]:
    """The code ``config`` names that has not been said yes to (a missing file raises :class:`CodeError`)."""
    return [ref for ref in refs_of(config) if not is_trusted(ref)]


def code_not_trusted(config) -> str | None:
    """What the app says instead of describing a preset whose own code it may not run yet, or None."""
    try:
        asked = untrusted(config)
    except CodeError as exc:
        return f"[red]{exc}[/]"
    if not asked:
        return None
    return (f"runs Python code from {', '.join(ref.where for ref in asked)}, not trusted yet: [b]s[/] asks before "
            "anything of it runs")
