"""Shared fixtures. MNIST-1D is generated once per session into a temporary cache
(the same folder is used by CLI subprocesses through TUI_TRAINER_CACHE); nothing downloads."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

_CACHE = Path(tempfile.mkdtemp(prefix="tui-trainer-test-cache-"))
os.environ["TUI_TRAINER_CACHE"] = str(_CACHE)
# no user presets leak in: not the user's own XDG_CONFIG_HOME, nor (under pytest-xdist) the one the controller
# set before its workers started, which the two workers would share
os.environ["XDG_CONFIG_HOME"] = str(_CACHE / "config")
# output is read as a pipe gives it: a shell's COLUMNS (or pytest-xdist's workers' 80 columns) would wrap tables
for _name in ("COLUMNS", "LINES"):
    os.environ.pop(_name, None)


@pytest.fixture(scope="session")
def mnist1d():
    """The full MNIST-1D splits on the CPU (generated once, about 5 s)."""
    from tui_trainer.config.schema import DataConfig
    from tui_trainer.data import load_data

    return load_data(DataConfig())


@pytest.fixture(scope="session")
def small_data(mnist1d):
    """512 training, 256 validation and 256 test samples of MNIST-1D, for fast engine tests."""
    from tui_trainer.data import Datasets, Split

    def cut(split, n):
        return Split(split.x[:n].clone(), split.y[:n].clone())

    return Datasets(mnist1d.spec, cut(mnist1d.train, 512), cut(mnist1d.val, 256), cut(mnist1d.test, 256))


@pytest.fixture
def no_batch_checksums(monkeypatch):
    """Batches written by a test are not the real ones, so their MD5s cannot match torchvision's list."""
    import torchvision.datasets.cifar as cifar
    import torchvision.datasets.utils as utils

    monkeypatch.setattr(cifar, "check_integrity", lambda path, md5=None: os.path.isfile(path))
    monkeypatch.setattr(utils, "check_integrity", lambda path, md5=None: os.path.isfile(path))


@pytest.fixture(autouse=True)
def _no_trust_or_plugin_leaks(monkeypatch):
    """`--yes`, run in this process, trusts a preset's code for the rest of the process, and the plugins seen are
    kept once read: both undone after each test (a test that put a plugin on the path has taken it off)."""
    from tui_trainer.usercode import plugins

    monkeypatch.setenv("TUI_TRAINER_TRUST", "")
    yield
    plugins.forget()
