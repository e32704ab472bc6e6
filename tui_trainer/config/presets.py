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
