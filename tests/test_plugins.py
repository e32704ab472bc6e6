"""Model families and datasets from installed packages (entry points): examples/plugin as pip installs it
(its module and a dist-info with its entry points, on the path), and a plugin that fails to import."""

from __future__ import annotations

import json

import pytest
from helpers import REPO, dist_info, install_example_plugin
from typer.testing import CliRunner

from tui_trainer.cli.app import app
from tui_trainer.usercode import plugins

PLUGIN = REPO / "examples" / "plugin"
PRESET = PLUGIN / "spirals-tiny-mlp.toml"


@pytest.fixture
def installed(tmp_path, monkeypatch):
    """examples/plugin installed (from its own pyproject.toml's entry points), and a broken plugin beside it."""
    site = tmp_path / "site"
    site.mkdir()
    install_example_plugin(site)
    (site / "broken_plugin.py").write_text("raise ImportError('needs a library that is not installed')\n")
    dist_info(site, "broken-plugin", "0.0.1", {"tui_trainer.models": {"broken": "broken_plugin:make"}})
    monkeypatch.syspath_prepend(str(site))
    plugins.forget()
    yield site
    plugins.forget()


def invoke(*args):
    result = CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})
    return result.exit_code, result.output


def test_installed_plugins_are_listed_with_their_settings_and_one_that_fails_says_why(installed):
    assert plugins.names("models") == ("broken", "tiny-mlp") and plugins.names("datasets") == ("spirals",)
    code, out = invoke("plugins", "--json")
    assert code == 1  # one failed to load
    listed = {p["name"]: p for p in json.loads(out)}
    assert listed["tiny-mlp"]["settings"] == {"hidden": "32", "layers": "2"}
    assert listed["tiny-mlp"]["package"] == "tui-trainer-example-plugin 0.1.0"
    assert listed["spirals"]["settings"] == {"n": "1500", "turns": "1.5", "noise": "0.05", "seed": "0"}
    assert listed["broken"]["failed"] == ("plugin 'broken' (broken_plugin:make, from broken-plugin 0.0.1) failed to "
                                          "load: ImportError: needs a library that is not installed")
    code, out = invoke("train", "digits-cnn", "--epochs", "1", "--json", "--runs-dir", installed / "runs")
    assert code == 0  # the rest of the tool works on
    code, out = invoke("train", "cnn-mnist1d", "--set", "model.kind=broken")
    assert code == 2 and out.strip() == ("error: --set model.kind=broken: model.kind: plugin 'broken' "
                                         "(broken_plugin:make, from broken-plugin 0.0.1) failed to load: ImportError: "
                                         "needs a library that is not installed")


def test_a_plugins_family_and_dataset_train_and_their_settings_are_checked_as_the_built_in_ones(installed, tmp_path):
    code, out = invoke("train", PRESET, "--epochs", "3", "--json", "--runs-dir", tmp_path / "runs")
    assert code == 0, out
    [run] = [p for p in (tmp_path / "runs").iterdir() if p.is_dir()]
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["confusion"]["classes"] == ["arm 0", "arm 1", "arm 2"]
    assert summary["code"]["model.kind"]["code"] == ("plugin 'tiny-mlp' (tui_trainer_example_plugin:tiny_mlp, from "
                                                     "tui-trainer-example-plugin 0.1.0)")
    config = (run / "config.toml").read_text()
    assert "[model.tiny-mlp]\nhidden = 64\nlayers = 2\n" in config and "[data.spirals]\nn = 1500\n" in config
    code, out = invoke("presets", "show", PRESET)
    assert "[data.spirals]\nn = 1500\nturns = 1.5\nnoise = 0.05\nseed = 0\n" in out  # defaults filled in
    for setting, said in (("model.tiny-mlp.hiden=3", "model.tiny-mlp.hiden: unknown key; did you mean 'hidden'?"),
                          ("model.tiny-mlp.layers=20", "model.tiny-mlp.layers: must be at most 8 (got 20)"),
                          ('data.spirals.turns="x"', "data.spirals.turns: expected float, got str 'x'")):
        code, out = invoke("train", PRESET, "--set", setting)
        assert code == 2 and out.strip() == f"error: --set {setting}: {said}", out


def test_without_the_plugin_a_preset_naming_it_says_what_to_install():
    plugins.forget()
    code, out = invoke("train", PRESET)
    assert code == 2 and ("data.dataset: unknown choice 'spirals': expected one of mnist1d, digits, mnist, "
                          "fashion_mnist, cifar10, image_folder, npz, text, series, python; or install the package of "
                          "a plugin that declares it (tui-trainer plugins lists them)") in out


def test_a_plugins_family_is_in_the_apps_model_list(installed, tmp_path):
    import asyncio

    from app_pilot import make_app, settings_ready
    from textual.widgets import Select

    from tui_trainer.tui.widgets.setting_keys import widget_id
    from tui_trainer.tui.widgets.settings_panel import SettingsPanel

    async def main():
        app = make_app(tmp_path)
        async with app.run_test(size=(120, 40)) as pilot:
            await settings_ready(pilot)
            kinds = app.query_one(f"#{widget_id('model.kind')}", Select)
            assert "tiny-mlp" in [value for _, value in kinds._options]
            datasets = app.query_one(f"#{widget_id('data.dataset')}", Select)
            assert "spirals" in [value for _, value in datasets._options]
            settings = app.query_one(SettingsPanel)
            row = app.query_one(f"#row-{widget_id('model.tiny-mlp.hidden')}")
            assert not row.display  # the family's own settings, shown while it is chosen
            settings.set_value("model.kind", "tiny-mlp")
            await pilot.pause()
            assert row.display and settings.config.model.plugin == {"hidden": 32, "layers": 2}
            settings.set_value("model.tiny-mlp.hidden", 16)  # checked as the built-in settings are
            assert settings.config.model.plugin == {"hidden": 16, "layers": 2} and not settings.errors
            settings.set_value("model.tiny-mlp.layers", 20)
            assert settings.errors == {"model.tiny-mlp.layers": "must be at most 8 (got 20)"}
            settings.set_value("model.tiny-mlp.layers", 3)
            settings.set_value("model.kind", "cnn")  # its edits stay with its hidden rows, and reach no other family
            await pilot.pause()
            assert not row.display and not settings.errors and settings.config.model.kind == "cnn"

    asyncio.run(main())
