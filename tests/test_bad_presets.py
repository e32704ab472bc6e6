"""Property-based: malformed TOML, wrong types, unknown keys, out-of-range and wrong-choice
values, fed to the loader and to the CLI. Each gives one line per problem naming the file
and the key, exit code 2, and no traceback."""

import dataclasses
import typing
from pathlib import Path

import pytest
import tomli_w
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from tui_trainer.cli.app import app
from tui_trainer.config import ConfigError, load_config
from tui_trainer.config.loader import tomllib  # tomli on Python 3.10
from tui_trainer.config.schema import Config

PRESET = Path(__file__).resolve().parent.parent / "tui_trainer" / "presets" / "cnn-mnist1d.toml"
BASE = tomllib.loads(PRESET.read_text())


def leaves(cls=Config, prefix=()):
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        kind = hints[f.name]
        if dataclasses.is_dataclass(kind):
            yield from leaves(kind, prefix + (f.name,))
        else:
            yield prefix + (f.name,), kind, dict(f.metadata)


LEAVES = list(leaves())
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def with_value(path, value):
    raw = tomllib.loads(PRESET.read_text())
    table = raw
    for part in path[:-1]:
        table = table.setdefault(part, {})
    table[path[-1]] = value
    return raw


def wrong_type_for(kind):
    if kind is bool:
        return st.one_of(st.integers(), st.text(min_size=1, max_size=5), st.lists(st.integers(), max_size=2))
    if kind is int:
        return st.one_of(st.booleans(), st.text(min_size=1, max_size=5),
                         st.floats(allow_nan=False, allow_subnormal=False)  # a trained model flushes subnormals
                         .filter(lambda v: v != int(v) if abs(v) < 1e15 else True))
    if kind is float:
        return st.one_of(st.booleans(), st.text(min_size=1, max_size=5),
                         st.lists(st.floats(allow_nan=False, allow_subnormal=False), max_size=2))
    if kind is str:
        return st.one_of(st.integers(), st.booleans(), st.lists(st.text(max_size=3), max_size=2))
    return st.one_of(st.text(min_size=1, max_size=5), st.booleans())  # tuple[int, ...]


@st.composite
def wrong_types(draw):
    path, kind, _ = draw(st.sampled_from(LEAVES))
    return path, draw(wrong_type_for(kind))


@st.composite
def out_of_range(draw):
    bounded = [leaf for leaf in LEAVES if {"min", "max", "gt"} & set(leaf[2]) and leaf[1] in (int, float)]
    path, kind, meta = draw(st.sampled_from(bounded))
    low = meta.get("min", meta.get("gt"))
    options = []
    if low is not None:
        below = low - draw(st.integers(1, 1000)) if "min" in meta else low - draw(st.integers(0, 1000))
        options.append(below)
    if "max" in meta:
        options.append(meta["max"] + draw(st.integers(1, 1000)))
    value = draw(st.sampled_from(options))
    return path, kind(value)


@st.composite
def wrong_choices(draw):
    path, _, meta = draw(st.sampled_from([leaf for leaf in LEAVES if "choices" in leaf[2]]))
    value = draw(st.text(alphabet="abcdefghijklmnopqrstuvwxyz_0123456789", min_size=1, max_size=12))
    assume(value not in meta["choices"])
    return path, value


@st.composite
def unknown_keys(draw):
    tables = [()] + sorted({leaf[0][:-1] for leaf in LEAVES if len(leaf[0]) > 1})
    table = draw(st.sampled_from(tables))
    known = {leaf[0][len(table)] for leaf in LEAVES if leaf[0][:len(table)] == table and len(leaf[0]) > len(table)}
    key = draw(st.from_regex(r"[a-z][a-z_]{0,12}", fullmatch=True))
    assume(key not in known)
    return table + (key,), draw(st.one_of(st.integers(), st.text(max_size=4), st.booleans()))


@st.composite
def malformed_toml(draw):
    text = PRESET.read_text()
    pos = draw(st.integers(0, len(text)))
    junk = draw(st.sampled_from(["=", "[", "]]", '"', "= =", "[tricks", "x = ", "\n= 1\n", "{", "'''"]))
    broken = text[:pos] + junk + text[pos:]
    try:
        tomllib.loads(broken)
    except tomllib.TOMLDecodeError:
        return broken
    assume(False)


def check_loader(tmp_path, raw_or_text, key):
    path = tmp_path / "bad.toml"
    path.write_text(raw_or_text if isinstance(raw_or_text, str) else tomli_w.dumps(raw_or_text))
    try:
        load_config(path)
    except ConfigError as exc:
        lines = str(exc).splitlines()
        assert lines and all(line.startswith(f"{path}: ") for line in lines), lines
        if key is not None:
            assert any(key in line for line in lines), (key, lines)
        return path
    raise AssertionError("an invalid preset was accepted")


def check_cli(path, key):
    runner = CliRunner()
    for args in (["presets", "validate", str(path)], ["train", str(path)]):
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit)
        output = result.output
        assert "Traceback" not in output and str(path) in output
        if key is not None:
            assert key in output


@pytest.mark.parametrize("cases", [wrong_types, out_of_range, wrong_choices, unknown_keys],
                         ids=["wrong-types", "out-of-range", "wrong-choices", "unknown-keys"])
@SETTINGS
@given(data=st.data())
def test_bad_values(tmp_path, cases, data):
    path, value = data.draw(cases())
    key = ".".join(path)
    check_cli(check_loader(tmp_path, with_value(path, value), key), key)


@SETTINGS
@given(text=malformed_toml())
def test_malformed_toml(tmp_path, text):
    path = check_loader(tmp_path, text, None)
    check_cli(path, "not valid TOML")


def test_a_rule_broken_by_a_set_blames_the_set_not_the_preset():
    """one-cycle has its own warm-up; switching to it with --set against a preset that warms up
    names the --set (and how to fix it), not the bundled file the user never wrote."""
    from tui_trainer.cli.common import train_overrides
    from tui_trainer.config import ConfigError
    from tui_trainer.config.presets import load_preset

    with pytest.raises(ConfigError) as caught:
        load_preset("cnn-mnist1d", train_overrides(["tricks.lr_schedule.kind=onecycle"]))
    assert str(caught.value) == ("--set tricks.lr_schedule.kind=onecycle: tricks.lr_schedule.warmup_epochs: one-cycle "
                                 "has its own warm-up (pct_start); set warmup_epochs = 0 "
                                 "(--set tricks.lr_schedule.warmup_epochs=0)")
