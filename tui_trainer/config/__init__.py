"""Presets as validated, frozen dataclasses. Knows nothing of torch."""

from .loader import ConfigError, config_from_dict, load_config, replace
from .writer import config_to_dict, dumps_config, save_config
from .schema import Config
from .tricks import TRICK_NAMES, TRICKS, monitor_mode

__all__ = [
    "Config",
    "ConfigError",
    "TRICKS",
    "TRICK_NAMES",
    "config_from_dict",
    "config_to_dict",
    "dumps_config",
    "load_config",
    "monitor_mode",
    "replace",
    "save_config",
]
