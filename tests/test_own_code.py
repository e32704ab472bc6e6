"""Your own model and data in Python: a factory and a loader named by a preset (a file beside it, or
a module), trusted before they run, recorded in the run, and every mistake in one line with exit 2
and no run folder."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tui_trainer.cli.app import app

MODEL = '''
from torch import nn

def make_model(spec, width: int = 16, batchnorm: bool = False, dropout: float = 0.0):
    n = 1
    for d in spec.input_shape:
        n *= d
    layers = [nn.Flatten(), nn.Linear(n, width)]
    if batchnorm:
        layers.append(nn.BatchNorm1d(width))
    return nn.Sequential(*layers, nn.ReLU(), nn.Dropout(dropout), nn.Linear(width, spec.num_classes))

def plain(spec, width: int = 2):
    return nn.Sequential(nn.Flatten(), nn.Linear(2, spec.num_classes))
'''

DATA = '''
import numpy as np

def blobs(n: int = 300, seed: int = 0, real: bool = False):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = rng.normal(0.0, 0.3, (n, 2)) + np.stack([np.cos(y * 2.1), np.sin(y * 2.1)], 1)
    if real:  # a regression: the distance from the origin
        return {"x": x.astype("float32"), "y": np.sqrt((x ** 2).sum(1)).astype("float32")}
    return {"x": x.astype("float32"), "y": y, "classes": ["a", "b", "c"]}
'''

PRESET = '''
name = "own"
[data]
dataset = "python"
[data.python]
loader = "data.py:blobs"
[model]
kind = "python"
[model.python]
factory = "model.py:make_model"
args = {{ width = 8 }}
[train]
epochs = {epochs}
threads = 1
batch_size = 32
lr = 0.03
[tricks.batchnorm]
enabled = {batchnorm}
'''


def invoke(*args):
    result = CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})
    return result.exit_code, result.output


@pytest.fixture
def own(tmp_path, monkeypatch):
    """A folder with a model file, a data file and a preset naming both (relative to it), a trust
    store of its own, and the runs folder beside them."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "model.py").write_text(MODEL)
    (folder / "data.py").write_text(DATA)
    (folder / "own.toml").write_text(PRESET.format(epochs=6, batchnorm="true"))
    monkeypatch.chdir(tmp_path)  # not the preset's folder: its files are found beside it all the same
    return folder


def runs(tmp_path: Path) -> list[Path]:
    return sorted(p for p in (tmp_path / "runs").glob("*") if p.is_dir()) if (tmp_path / "runs").exists() else []


def test_your_model_and_data_train_and_the_run_names_the_code_it_ran(own, tmp_path):
    code, out = invoke("train", own / "own.toml", "--yes", "--runs-dir", tmp_path / "runs", "--json")
    assert code == 0, out
    [run] = runs(tmp_path)
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["test_accuracy"] > 0.6  # three well-separated blobs
    assert summary["confusion"]["classes"] == ["a", "b", "c"]
    started = json.loads((run / "metrics.jsonl").read_text().splitlines()[0])
    assert any("BatchNorm1d(8" in line for line in started["model"])  # the switch reached the factory
    import hashlib

    digest = hashlib.sha256((own / "model.py").read_bytes()).hexdigest()
    assert summary["code"]["model.python.factory"] == {"code": f"{own / 'model.py'}:make_model", "sha256": digest}
    assert summary["code"]["data.python.loader"]["code"] == f"{own / 'data.py'}:blobs"
    code, out = invoke("runs", "show", run, "--runs-dir", tmp_path / "runs")
    assert f"code    model.python.factory: {own / 'model.py'}:make_model (sha256 {digest[:12]})" in out
    # the run folder's settings name the files where they are, so a resume finds them from anywhere
    assert f'factory = "{own / "model.py"}:make_model"' in (run / "config.toml").read_text()


def test_code_runs_only_once_trusted_and_a_changed_file_asks_again(own, tmp_path, monkeypatch):
    preset = own / "own.toml"
    code, out = invoke("train", preset, "--runs-dir", tmp_path / "runs")
    assert code == 2 and out.strip().startswith("error: model.python.factory: this preset runs Python code from "
                                                 f"{own / 'model.py'}:make_model, which has not been trusted here")
    assert "--yes" in out and len(out.strip().splitlines()) == 1 and not runs(tmp_path)
    code, out = invoke("presets", "show", preset)
    assert f"# runs Python code: {own / 'model.py'}:make_model (sha256 " in out and "not trusted yet" in out
    code, out = invoke("presets", "trust", preset)
    assert code == 0 and f"trusted: {own / 'data.py'}:blobs" in out
    code, out = invoke("train", preset, "--runs-dir", tmp_path / "runs", "--epochs", "1", "--json")
    assert code == 0, out
    (own / "model.py").write_text(MODEL + "\n# changed\n")
    code, out = invoke("train", preset, "--runs-dir", tmp_path / "runs")
    assert code == 2 and "which has changed since you trusted it" in out and len(runs(tmp_path)) == 1
    monkeypatch.setenv("TUI_TRAINER_TRUST", "1")  # headless: the environment says yes
    code, out = invoke("train", preset, "--runs-dir", tmp_path / "runs", "--epochs", "1", "--json")
    assert code == 0 and len(runs(tmp_path)) == 2
    code, out = invoke("presets", "trust", "cnn-mnist1d")
    assert code == 2 and "runs no code of its own" in out


def test_no_bundled_preset_names_code():
    from tui_trainer.config.presets import BUNDLED_DIR, load_preset
    from tui_trainer.usercode.refs import refs_of

    presets = sorted(BUNDLED_DIR.rglob("*.toml"))
    assert len(presets) > 10
    for path in presets:
        if path.parent.name != "labs":
            assert refs_of(load_preset(path)[0]) == [], path


def _refused(own, tmp_path, *setting: str) -> str:
    args = [a for s in setting for a in ("--set", s)]
    code, out = invoke("train", own / "own.toml", "--yes", "--runs-dir", tmp_path / "runs", *args)
    assert code == 2 and out.startswith("error: "), out
    assert not runs(tmp_path)  # nothing written
    return out.strip()


def test_each_mistake_in_the_code_named_is_one_line(own, tmp_path):
    f = str(own / "model.py")
    out = _refused(own, tmp_path, f"model.python.factory={own / 'nope.py'}:make")
    assert out == f"error: model.python.factory: {own / 'nope.py'} does not exist; give the .py file that defines make"
    out = _refused(own, tmp_path, "model.python.factory=no_such_package.models:make")
    assert out == ("error: model.python.factory: no module named 'no_such_package': install it, or name a file "
                   '("path/to/file.py:make")')
    out = _refused(own, tmp_path, f"model.python.factory={f}:make_modle")
    assert out == f"error: model.python.factory: {f} has no 'make_modle'; did you mean 'make_model'?"
    (own / "model.py").write_text(MODEL + "\nWIDTH = 3\n")
    out = _refused(own, tmp_path, f"model.python.factory={f}:WIDTH")
    assert out == f"error: model.python.factory: {f}:WIDTH is int 3, not a function or class"
    out = _refused(own, tmp_path, "model.python.factory=make_model")
    assert out == ('error: model.python.factory: \'make_model\' is not "package.module:function" or '
                   '"path/to/file.py:function"')
    out = _refused(own, tmp_path, "model.python.args.widht=3")
    assert out.startswith(f"error: model.python.factory: {f}:make_model cannot be called so: ")
    assert "unexpected keyword argument 'widht'" in out


def test_code_that_raises_shows_its_own_frames_under_one_line(own, tmp_path):
    (own / "model.py").write_text(MODEL + textwrap.dedent('''
        def broken(spec, width):
            return helper(spec.num_classes)

        def helper(k):
            raise ValueError(f"no model for {k} classes")
        '''))
    out = _refused(own, tmp_path, f"model.python.factory={own / 'model.py'}:broken", "tricks.batchnorm.enabled=false",
                   "tricks.dropout.enabled=false")
    lines = out.splitlines()
    assert lines[0] == (f"error: model.python.factory: calling {own / 'model.py'}:broken raised ValueError: "
                        "no model for 3 classes")
    frames = [line for line in lines if line.strip().startswith("File ")]
    assert len(frames) == 2 and all(str(own / "model.py") in line for line in frames)  # theirs only: not ours
    assert lines[-1] == "ValueError: no model for 3 classes"
    (own / "data.py").write_text("import numpy as np\nraise RuntimeError('the data is not there')\n")
    out = _refused(own, tmp_path)
    assert out.splitlines()[0] == (f"error: data.python.loader: importing {own / 'data.py'}:blobs raised "
                                   "RuntimeError: the data is not there")


@pytest.mark.parametrize("returns, says", [
    ("42", "returned int; return a dict with x and y"),
    ("{'x': [[1.0, 2.0]] * 4}", "returned x without y; give both or neither"),
    ("{'x': [[1.0]] * 4, 'y': [0, 1, 0], 'labels': 1}", "returned unknown key(s) 'labels'"),
    ("([[1.0, 2.0]] * 4, [0, 1, 0])", "x has shape (4, 2) and y (3,); x needs one row per label in y"),
    ("{'x': [1.0, 2.0, 3.0], 'y': [0, 1, 0]}", "returned x of shape (3,); give one row per sample: (N, ...)"),
    ("{'x': [['a', 'b']] * 3, 'y': [0, 1, 0]}", "returned x of dtype <U1; give numbers"),
])
def test_a_loader_that_returns_something_else_is_one_line(own, tmp_path, returns, says):
    (own / "data.py").write_text(f"def blobs():\n    return {returns}\n")
    out = _refused(own, tmp_path)
    assert out.startswith(f"error: data.python.loader: {own / 'data.py'}:blobs") and says in out, out
    assert len(out.splitlines()) == 1


def test_a_factory_that_returns_no_module_or_a_wrong_output_is_refused_before_any_folder(own, tmp_path):
    (own / "model.py").write_text(MODEL + textwrap.dedent('''
        def nothing(spec, width):
            return None

        def two_outputs(spec, width):
            return nn.Linear(2, 2)
        '''))
    f = own / "model.py"
    out = _refused(own, tmp_path, f"model.python.factory={f}:nothing", "tricks.batchnorm.enabled=false",
                   "tricks.dropout.enabled=false")
    assert out == f"error: model.python.factory: {f}:nothing returned NoneType, not a torch.nn.Module"
    out = _refused(own, tmp_path, f"model.python.factory={f}:two_outputs", "tricks.batchnorm.enabled=false",
                   "tricks.dropout.enabled=false")
    assert out == (f"error: model.python.factory: the model from {f}:two_outputs gave an output of shape (2, 2) for "
                   "a batch of (2, 2); the data needs (2, 3) (one score per class: 3)")


def test_a_model_trick_the_factory_does_not_take_is_refused_and_the_rest_reach_it(own, tmp_path):
    f = own / "model.py"
    out = _refused(own, tmp_path, f"model.python.factory={f}:plain")
    assert out == (f"error: tricks.batchnorm: {f}:plain takes no batchnorm argument, so the switch would do nothing; "
                   "switch it off (--no-batchnorm) or give the function a batchnorm parameter")
    out = _refused(own, tmp_path, "model.python.args.dropout=0.5")
    assert out.startswith("error: model.python.args.dropout: set it with the switch tricks.dropout (--dropout or "
                          "--no-dropout)")
    code, out = invoke("train", own / "own.toml", "--yes", "--runs-dir", tmp_path / "runs", "--json", "--epochs", "1",
                       "--set", f"model.python.factory={f}:plain", "--no-batchnorm", "--no-dropout",
                       "--label-smoothing", "--ema", "--set", "tricks.weight_decay.enabled=true")
    assert code == 0, out  # the tricks outside the model need nothing of it
    [run] = runs(tmp_path)
    assert set(json.loads((run / "summary.json").read_text())["tricks"]) >= {"label_smoothing", "ema", "weight_decay"}
    code, out = invoke("ablate", own / "own.toml", "--yes", "--runs-dir", tmp_path / "ablate", "--seeds", "1",
                       "--epochs", "1", "--tricks", "batchnorm,dropout,ema", "--set", f"model.python.factory={f}:plain",
                       "--set", "tricks.batchnorm.enabled=false", "--set", "tricks.dropout.enabled=false")
    assert code == 0 and "+ema" in out, out  # the tricks it cannot take are left out, and said so
    assert f"not run: batchnorm: tricks.batchnorm: the model's factory takes no batchnorm argument ({f}:plain)" in out
    assert f"not run: dropout: tricks.dropout: the model's factory takes no dropout argument ({f}:plain)" in out


def test_data_with_real_valued_targets_is_a_regression_scored_in_its_units(own, tmp_path):
    code, out = invoke("train", own / "own.toml", "--yes", "--runs-dir", tmp_path / "runs", "--json", "--epochs", "2",
                       "--set", "data.python.args.real=true", "--set", "train.loss=mae")
    assert code == 0, out
    [run] = runs(tmp_path)
    summary = json.loads((run / "summary.json").read_text())
    assert summary["headline"] == "test_mae" and summary["headline_mode"] == "min"
    assert set(summary["test_metrics"]) == {"test_mae", "test_rmse", "test_mae_h1"}  # no MASE: it is not a series
    assert 0 < summary["test_metrics"]["test_mae"] < 1.5


def test_a_relative_file_is_beside_the_preset_or_where_the_command_runs(own, tmp_path, monkeypatch):
    from tui_trainer.config import load_config

    config = load_config(own / "own.toml")
    assert config.model.python.factory == f"{own / 'model.py'}:make_model"
    assert config.data.python.loader == f"{own / 'data.py'}:blobs"
    monkeypatch.chdir(own)
    config = load_config(own / "own.toml", ["model.python.factory=model.py:plain", "data.python.loader=pkg.mod:f"])
    assert config.model.python.factory == f"{own / 'model.py'}:plain"  # typed: from the working folder
    assert config.data.python.loader == "pkg.mod:f"  # a module is a name, not a path
    code, out = invoke("train", own / "own.toml", "--set", 'model.python.factory=""')
    assert code == 2 and 'model.kind = "python" needs the callable that builds the model' in out


@pytest.mark.parametrize("preset", ["vgg/digits-vgg.toml", "moons/moons-mlp.toml", "cnn1d/mnist1d-cnn.toml"])
def test_the_examples_train_on_a_toy_budget(preset, tmp_path):
    from helpers import REPO

    code, out = invoke("train", REPO / "examples" / preset, "--yes", "--epochs", "2", "--json",
                       "--runs-dir", tmp_path / "runs")
    assert code == 0, out
    [run] = runs(tmp_path)
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["test_accuracy"] > 0.5
    assert sorted(summary["code"]) == (["data.python.loader", "model.python.factory"] if "moons" in preset else
                                       ["model.python.factory"])


DATASET = '''
import numpy as np
import torch
from torch.utils.data import Dataset

class Blobs(Dataset):
    """Three blobs, one sample at a time, as a user's Dataset reads its files."""

    def __init__(self, n, seed):
        rng = np.random.default_rng(seed)
        self.y = rng.integers(0, 3, n)
        self.x = rng.normal(0.0, 0.3, (n, 2)) + np.stack([np.cos(self.y * 2.1), np.sin(self.y * 2.1)], 1)
        self.reads = 0

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return torch.tensor(self.x[i], dtype=torch.float32), int(self.y[i])

def blobs(with_targets: bool = True):
    train, test = Blobs(300, 0), Blobs(100, 1)
    if with_targets:
        train.targets = list(train.y)  # as torchvision's datasets have them: not read sample by sample
    return {"train": train, "test": test, "classes": ["a", "b", "c"]}
'''


def test_a_torch_dataset_is_held_where_it_fits_and_streamed_the_same_where_it_does_not(own, tmp_path):
    (own / "data.py").write_text(DATASET)
    summaries = {}
    for budget, mode, targets in ((0, "resident", "true"), (0.001, "streamed", "false")):
        code, out = invoke("train", own / "own.toml", "--yes", "--runs-dir", tmp_path / mode, "--json", "--set",
                           f"data.memory_budget_mb={budget}", "--set", f"data.python.args.with_targets={targets}")
        assert code == 0, out
        [run] = [p for p in (tmp_path / mode).iterdir() if p.is_dir()]
        started = json.loads((run / "metrics.jsonl").read_text().splitlines()[0])
        assert started["data_mode"] == mode and started["test_size"] == 100 and started["input_shape"] == [2]
        summaries[mode] = json.loads((run / "summary.json").read_text())
    resident, streamed = summaries["resident"], summaries["streamed"]
    assert resident["test_accuracy"] > 0.6 and resident["confusion"]["classes"] == ["a", "b", "c"]
    for key in ("test_loss", "test_accuracy", "best_val_loss", "steps"):  # the same batches, read another way
        assert streamed[key] == resident[key], key
    (own / "data.py").write_text("from torch.utils.data import TensorDataset\nimport torch\n\n"
                                 "def blobs():\n    return TensorDataset(torch.zeros(8, 2))\n")
    out = _refused(own, tmp_path)
    assert out == (f"error: data.python.loader: {own / 'data.py'}:blobs: its Dataset gave tuple for sample 0; give "
                   "(x, y) pairs")
