"""Finding presets by name or path.

Presets are searched, first match wins, in ``./presets``, the user's preset folder
(``$XDG_CONFIG_HOME/tui-trainer/presets``, by default ``~/.config/tui-trainer/presets``)
and the presets bundled inside the package.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from pathlib import Path

from .loader import ConfigError, load_config
from .schema import Config

BUNDLED_DIR = Path(__file__).resolve().parent.parent / "presets"
DEFAULT_PRESET = "cnn-mnist1d"


def user_preset_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "tui-trainer" / "presets"


def search_dirs() -> list[tuple[str, Path]]:
    return [("local", Path.cwd() / "presets"), ("user", user_preset_dir()), ("bundled", BUNDLED_DIR)]


@dataclass(frozen=True)
class PresetEntry:
    name: str
    path: Path
    origin: str  # local, user or bundled

    def listing(self) -> str:
        """What a list of presets shows beside the name: the dataset, and where it was found unless bundled."""
        try:
            dataset = load_config(self.path).data.dataset
        except ConfigError:
            dataset = "invalid"
        return dataset if self.origin == "bundled" else f"{dataset}, {self.origin}"


def list_presets() -> list[PresetEntry]:
    """All presets found, one per name (the first in search order), sorted by name."""
    seen: dict[str, PresetEntry] = {}
    seen_paths: set[Path] = set()
    for origin, folder in search_dirs():
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.toml")):
            real = path.resolve()
            if path.stem in seen or real in seen_paths:
                continue
            seen_paths.add(real)
            seen[path.stem] = PresetEntry(path.stem, path, "bundled" if real.parent == BUNDLED_DIR else origin)
    return sorted(seen.values(), key=lambda e: e.name)


def resolve_preset(name_or_path: str | os.PathLike) -> Path:
    """A path as given when it names a file (or looks like one), else the preset of that name."""
    text = os.fspath(name_or_path)
    path = Path(text).expanduser()
    if path.exists() or text.endswith(".toml") or os.sep in text:
        if not path.exists():
            raise ConfigError([f"{text}: no such file"])
        return path
    entries = list_presets()
    for entry in entries:
        if entry.name == text:
            return entry.path
    names = [e.name for e in entries]
    hint = difflib.get_close_matches(text, names, n=1)
    extra = f"; did you mean {hint[0]!r}?" if hint else ""
    raise ConfigError([f"unknown preset {text!r}{extra} Known presets: {', '.join(names) or 'none'}"])


def load_preset(name_or_path: str | os.PathLike, overrides=None) -> tuple[Config, Path]:
    path = resolve_preset(name_or_path)
    return load_config(path, overrides), path


def set_lr(path: Path, name: str, lr: float) -> Path:
    """Write ``train.lr = lr`` into the preset at ``path``, keeping its comments and layout; a
    bundled preset is copied to the user's preset folder first (where it then takes precedence).
    Returns the file written."""
    import re

    from ..atomic import atomic_write_text
    from ..errors import UserError

    target = user_preset_dir() / f"{path.stem}.toml" if path.resolve().parent == BUNDLED_DIR else path
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    value = f"{lr:.3g}"
    header = next((i for i, line in enumerate(lines) if re.match(r"\s*\[train\]\s*(#.*)?$", line)), None)
    if header is None:
        lines += ["\n" if lines and not lines[-1].endswith("\n") else "", "\n[train]\n", f"lr = {value}\n"]
    else:
        end = next((i for i in range(header + 1, len(lines)) if lines[i].lstrip().startswith("[")), len(lines))
        at = next((i for i in range(header + 1, end) if re.match(r"\s*lr\s*=", lines[i])), None)
        if at is None:
            lines.insert(header + 1, f"lr = {value}\n")
        else:
            m = re.match(r"(\s*lr\s*=\s*)([^#\n]*?)(\s*#.*)?(\n?)$", lines[at])
            lines[at] = f"{m.group(1)}{value}{m.group(3) or ''}{m.group(4)}" if m else f"lr = {value}\n"
    text = "".join(lines)
    target.parent.mkdir(parents=True, exist_ok=True)
    from .loader import config_from_dict, parse_toml

    try:
        written = config_from_dict(parse_toml(text, str(target)), str(target))
    except ConfigError as exc:
        raise UserError(f"--apply: {target} would not load after setting train.lr ({exc}); set it by hand") from None
    if abs(written.train.lr - float(value)) > 1e-12 * max(1.0, float(value)):
        raise UserError(f"--apply: {target} sets train.lr in a way this edit does not follow; "
                        f"set train.lr = {value} by hand")
    atomic_write_text(target, text)
    return target
