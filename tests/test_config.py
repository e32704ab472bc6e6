from pathlib import Path

import pytest
from helpers import REPO, make_config

from tui_trainer.config import (
    Config,
    ConfigError,
    config_from_dict,
    dumps_config,
    load_config,
)
from tui_trainer.config.loader import parse_toml
from tui_trainer.config.presets import list_presets, resolve_preset

PRESETS = sorted((REPO / "presets").glob("*.toml"))


def test_both_default_presets_ship_and_validate():
    names = {p.stem for p in PRESETS}
    assert {"cnn-mnist1d", "lstm-mnist1d"} <= names
    bundled = {e.name for e in list_presets() if e.origin == "bundled"}
    assert {"cnn-mnist1d", "lstm-mnist1d"} <= bundled


@pytest.mark.parametrize("path", PRESETS, ids=lambda p: p.stem)
def test_save_and_load_is_lossless(path, tmp_path):
    config = load_config(path)
    out = tmp_path / "again.toml"
    out.write_text(dumps_config(config))
    assert load_config(out) == config


def test_defaults_round_trip():
    config = Config()
    assert config_from_dict(parse_toml(dumps_config(config), "x")) == config


def _error(tmp_path: Path, text: str) -> str:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert str(path) in message
    return message


@pytest.mark.parametrize(
    "text, key, says",
    [
        ("[tricks.dropout]\npp = 0.3\n", "tricks.dropout.pp", "did you mean 'p'"),
        ("[tricks.dropuot]\nenabled = true\n", "tricks.dropuot", "did you mean 'dropout'"),
        ('[train]\nlr = "fast"\n', "train.lr", "expected a number"),
        ("[train]\nepochs = true\n", "train.epochs", "expected an integer"),  # a bool is not an integer
        ("[tricks.dropout]\np = 1.5\n", "tricks.dropout.p", "at most 0.95"),
        ('[tricks.lr_schedule]\nkind = "cosin"\n', "tricks.lr_schedule.kind", "did you mean 'cosine'"),
    ],
    ids=["unknown-key-suggests", "unknown-section-suggests", "wrong-type", "bool-is-not-an-integer", "out-of-range",
         "unknown-choice-suggests"],
)
def test_a_bad_value_names_its_key_and_what_is_wrong(tmp_path, text, key, says):
    message = _error(tmp_path, text)
    assert key in message and says in message


def test_every_problem_is_reported_on_its_own_line(tmp_path):
    message = _error(tmp_path, '[train]\nlr = -1.0\nepochs = 0\n[model]\nkind = "rnn"\n')
    lines = message.splitlines()
    assert len(lines) == 3
    assert any("train.lr" in line for line in lines)
    assert any("train.epochs" in line for line in lines)
    assert any("model.kind" in line for line in lines)


def test_invalid_toml_names_the_file(tmp_path):
    message = _error(tmp_path, "[train\nlr = 1\n")
    assert "not valid TOML" in message


def test_missing_file():
    with pytest.raises(ConfigError, match="no such file"):
        load_config("does/not/exist.toml")


def test_overrides_go_through_the_same_validation():
    assert make_config({"train.lr": 0.3}).train.lr == 0.3
    config = config_from_dict({}, "f.toml",
                              ["train.lr=0.3", "tricks.lr_schedule.kind=step", "model.cnn.channels=[8, 16]"])
    assert config.train.lr == 0.3 and config.tricks.lr_schedule.kind == "step" and config.model.cnn.channels == (8, 16)
    with pytest.raises(ConfigError) as info:
        config_from_dict({}, "f.toml", ["tricks.dropout.p=2"])
    assert str(info.value).startswith("--set tricks.dropout.p=2: tricks.dropout.p: must be at most")
    with pytest.raises(ConfigError, match="did you mean 'lr'"):
        config_from_dict({}, "f.toml", ["train.lrr=0.1"])
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        config_from_dict({}, "f.toml", ["train.lr"])


def test_onecycle_has_its_own_warmup():
    with pytest.raises(ConfigError, match="one-cycle has its own warm-up"):
        make_config({"tricks.lr_schedule.kind": "onecycle", "tricks.lr_schedule.warmup_epochs": 1.0})


def test_resolve_preset_by_name_and_suggestion():
    assert resolve_preset("cnn-mnist1d").name == "cnn-mnist1d.toml"
    with pytest.raises(ConfigError, match="did you mean 'cnn-mnist1d'"):
        resolve_preset("cnn-mnist")


def test_config_module_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, tui_trainer.config, tui_trainer.config.presets; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_documented_reference_matches_the_schema():
    from tui_trainer.config.reference import reference

    text = (REPO / "docs" / "presets.md").read_text()
    documented = text.split("<!-- reference:start -->\n")[1].split("\n<!-- reference:end -->")[0]
    assert documented.strip() == reference().strip(), "regenerate with: python -m tui_trainer.config.reference"


OLD_FLAT_MODEL = """
name = "old"
[model]
kind = "lstm"
channels = [8, 8]
kernel_size = 3
pool_every = 1
fc_hidden = 16
hidden_size = 24
num_layers = 1
bidirectional = true
"""


def test_presets_with_the_old_flat_model_table_still_load(tmp_path):
    # run folders written before the model families had their own tables hold every key flat
    path = tmp_path / "config.toml"
    path.write_text(OLD_FLAT_MODEL)
    config = load_config(path)
    assert config.model.kind == "lstm"
    assert (config.model.lstm.hidden_size, config.model.lstm.num_layers,
            config.model.lstm.bidirectional) == (24, 1, True)
    assert config.model.cnn == make_config().model.cnn  # the table that does not apply keeps its defaults
    written = dumps_config(config)
    assert "[model.lstm]" in written and "[model.cnn]" not in written and "channels" not in written
    again = tmp_path / "again.toml"
    again.write_text(written)
    assert load_config(again) == config
    # the old spelling of an override still reaches the family's table, and its errors name the option
    assert make_config({"model.kind": "lstm", "model.hidden_size": 12}).model.lstm.hidden_size == 12
    with pytest.raises(ConfigError, match=r"^--set model.channels=\[0\]: model.cnn.channels\[0\]: must be at least 1"):
        config_from_dict({}, "f.toml", ["model.channels=[0]"])


def test_only_the_chosen_model_family_is_shown_and_a_typo_points_into_it(tmp_path):
    cnn = make_config({"model.cnn.channels": [4]})
    lstm = make_config({"model.kind": "lstm", "model.lstm.hidden_size": 8})
    assert "[model.cnn]" in dumps_config(cnn) and "[model.lstm]" not in dumps_config(cnn)
    assert "[model.lstm]" in dumps_config(lstm) and "[model.cnn]" not in dumps_config(lstm)
    message = _error(tmp_path, "[model]\nchanels = [8]\n")
    assert "model.chanels: unknown key; did you mean 'cnn.channels'?" in message


def test_the_registries_name_what_the_schema_allows():
    from tui_trainer.config.fields import variant_tables
    from tui_trainer.config.schema import DATASETS, MODEL_KINDS, ModelConfig
    from tui_trainer.data import DATASETS as DATA_MODULES
    from tui_trainer.models import MODELS

    assert set(DATA_MODULES) == set(DATASETS)
    assert set(MODELS) == set(MODEL_KINDS) == set(variant_tables(ModelConfig))


def test_values_read_as_in_a_toml_file():
    from tui_trainer.config.loader import tomllib  # tomli on Python 3.10
    from tui_trainer.config.writer import toml_value

    for value in (True, "cosine", 'say "hi"', (32, 64), 0.003, 1e-05, 10000.0, 5):
        parsed = tomllib.loads(f"v = {toml_value(value)}")["v"]
        expected = list(value) if isinstance(value, tuple) else value
        assert parsed == expected
        assert type(parsed) is type(expected)
    assert toml_value(None) == "-"


def test_old_key_paths_are_made_explicit():
    from tui_trainer.config.overrides import canonical_key

    assert canonical_key(["model", "channels"]) == ["model", "cnn", "channels"]
    assert canonical_key(["model", "hidden_size"]) == ["model", "lstm", "hidden_size"]
    assert canonical_key(["model", "lstm", "hidden_size"]) == ["model", "lstm", "hidden_size"]
    assert canonical_key(["train", "lr"]) == ["train", "lr"]
    assert canonical_key(["model", "nonsense"]) == ["model", "nonsense"]  # left for the unknown-key error
