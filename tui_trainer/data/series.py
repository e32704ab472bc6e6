"""A time series from a CSV file to forecast: ``window`` past values in, the next ``horizon`` out.

The default series is the monthly Mauna Loa CO2 record, March 1958 to December 2001, in the
package (``files/co2_monthly.csv``, with its source in ``files/CO2.txt``).

The split is chronological, by the time of the values a window predicts: training windows lie
wholly before the validation period; a validation or test window predicts values of its own
period only and reads the values before them, as a forecaster would (the past is known at
forecast time). No window's targets straddle a boundary, and nothing of the validation or test
periods reaches training: neither as a target, nor as an input, nor in the normalisation,
which uses the training period alone.

``data.transform`` picks what the model sees and predicts (σ: the training period's standard
deviation; σΔ: that of its month-to-month changes):

- ``level``: the values, (v - mean) / σ, in and out;
- ``difference``: the window's changes ΔV / σΔ in; out, the change from the last value;
- ``last_value``: the window minus its own last value, / σΔ, in; out, the change from it;
- ``both``: the two inputs above as two channels; out, the change from the last value.

Errors come back in the data's own units: a prediction's error is the model's error times
the scale (σ or σΔ), since the offset (the mean, or the last value) is the same for the
prediction and the truth.
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..config.schema import DataConfig
from .arrays import Arrays
from .spec import DatasetError, DataSpec, Progress
from .text import read_user_text

if TYPE_CHECKING:
    import numpy as np

FILE = Path(__file__).parent / "files" / "co2_monthly.csv"
DEFAULT = "Mauna Loa CO2, monthly means 1958-03 to 2001-12 (NOAA/SIO, public domain; in the package)"
MISSING = {"", "nan", "na", "n/a", "null", "none", "-"}


@dataclass
class Series:
    values: np.ndarray  # float64, one per row
    dates: list[str]  # as written, or row numbers
    source: str
    column: str


def _default(config: DataConfig) -> tuple[Path, str, str]:
    if config.path:
        return Path(config.path).expanduser(), config.column, config.date_column
    return FILE, config.column or "co2", config.date_column or "month"


def read_series(config: DataConfig, as_array: bool = True) -> Series:
    """The column to forecast, checked: one line naming the file, the row and the column for
    what cannot be used. Its values as an array, or (``as_array=False``: the spec, which only
    counts them) as a tuple, without importing numpy."""
    path, column, date_column = _default(config)
    where = f"data.path: {path}" if config.path else str(path)
    text = read_user_text(path, where, "a CSV file with a header row and one value per row")
    rows = [row for row in csv.reader(text.splitlines()) if any(cell.strip() for cell in row)]
    header = [h.strip() for h in rows[0]]
    col = _column(header, column, "data.column", where, default_last=True)
    dcol = _column(header, date_column, "data.date_column", where) if date_column else None
    values, dates = [], []
    for number, row in enumerate(rows[1:], start=2):  # row numbers as a spreadsheet shows them, the header is row 1
        cell = row[col].strip() if col < len(row) else ""
        if cell.lower() in MISSING:
            raise DatasetError(f"{where}: row {number}, column {header[col]!r} is empty "
                               f"({cell or 'no value'}): the series has a gap; fill or interpolate it "
                               "(and say how) before training")
        try:
            value = float(cell)
        except ValueError:
            raise DatasetError(f"{where}: row {number}, column {header[col]!r}: {cell!r} is not a number") from None
        if not math.isfinite(value):
            raise DatasetError(f"{where}: row {number}, column {header[col]!r} is {cell}; give finite numbers")
        values.append(value)
        dates.append(row[dcol].strip() if dcol is not None and dcol < len(row) else str(number))
    if dcol is not None:
        _check_dates(dates, where, header[dcol])
    if as_array:
        import numpy as np

        values = np.asarray(values, dtype=np.float64)
    return Series(values if as_array else tuple(values), dates, str(path) if config.path else DEFAULT, header[col])


def _column(header: list[str], wanted: str, key: str, where: str, default_last: bool = False) -> int:
    if not wanted:
        if default_last:
            return len(header) - 1
    if wanted in header:
        return header.index(wanted)
    if re.fullmatch(r"-?\d+", wanted or ""):
        index = int(wanted)
        if -len(header) <= index < len(header):
            return index % len(header)
        raise DatasetError(f"{key}: column {index} is out of range; {where} has {len(header)} "
                           f"columns ({', '.join(header)})")
    from difflib import get_close_matches

    close = get_close_matches(wanted, header, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise DatasetError(f"{key}: {where} has no column {wanted!r}{hint} (columns: {', '.join(header)})")


def _month_index(date: str) -> int | None:
    match = re.fullmatch(r"(\d{4})-(\d{1,2})(?:-\d{1,2})?", date)
    return int(match[1]) * 12 + int(match[2]) - 1 if match else None


def _check_dates(dates: list[str], where: str, name: str) -> None:
    """Monthly dates (YYYY-MM or YYYY-MM-DD on one day of each month) must follow each other
    without a missing month; other dates are only labels."""
    months = [_month_index(d) for d in dates]
    if None in months or len(months) < 2 or len({d[7:] for d in dates}) > 1:
        return
    for i in range(1, len(months)):
        if months[i] - months[i - 1] != 1:
            raise DatasetError(f"{where}: column {name!r} jumps from {dates[i - 1]} (row {i + 1}) "
                               f"to {dates[i]} (row {i + 2}): "
                               f"{'a gap in' if months[i] > months[i - 1] else 'a step back in'} the monthly series; "
                               "resample or fill it so each month has one row")


def boundaries(n: int, config: DataConfig) -> tuple[int, int]:
    """Where the validation and the test periods start."""
    test = config.test_periods or max(1, round(n * config.test_fraction))
    val = config.val_periods or max(1, round(n * config.val_fraction))
    return n - test - val, n - test


def origin_ranges(n: int, config: DataConfig) -> dict[str, range]:
    """Forecast origins t (the index of a window's last input) of each part: training windows
    lie wholly in the training period; validation and test windows predict only their own period."""
    a, b = boundaries(n, config)
    w, h = config.window, config.horizon
    lead = w if config.transform in ("difference", "both") else w - 1  # differences need one value before the window
    return {"train": range(lead, a - h), "val": range(max(lead, a - 1), b - h), "test": range(max(lead, b - 1), n - h)}


def windows(n: int, config: DataConfig) -> dict[str, np.ndarray]:
    """The forecast origins of each part (:func:`origin_ranges`) as arrays."""
    import numpy as np

    return {part: np.arange(r.start, r.stop) for part, r in origin_ranges(n, config).items()}


def _check(series: Series, config: DataConfig) -> None:
    n, w, h = len(series.values), config.window, config.horizon
    a, b = boundaries(n, config)
    parts = origin_ranges(n, config)
    if a < 2 or min(len(t) for t in parts.values()) < 1:
        raise DatasetError(f"{series.source}: {n} rows are too few for a window of {w} and a "
                           f"horizon of {h} in each of the training ({max(a, 0)}), validation ({b - a}) and test "
                           f"({n - b}) periods: the training period needs at least "
                           f"{w + h + (config.transform in ('difference', 'both'))} rows and the others {h} each; "
                           "shorten data.window or data.horizon, or give more rows")


def prepare(series: Series, config: DataConfig) -> dict:
    """Inputs (N, channels, window) and targets (N, horizon) of each part, in the model's units,
    and the scale back to the data's."""
    import numpy as np

    v = series.values
    a, _ = boundaries(len(v), config)
    train = v[:a]
    mean, std = float(train.mean()), float(train.std()) or 1.0
    dstd = float(np.diff(train).std()) or 1.0
    w, h, kind = config.window, config.horizon, config.transform
    out = {"scale": std if kind == "level" else dstd, "mean": mean, "std": std, "dstd": dstd}
    for part, origins in windows(len(v), config).items():
        idx = origins[:, None] + np.arange(-w + 1, 1)[None, :]  # (N, window)
        window, last = v[idx], v[origins][:, None]
        targets = v[origins[:, None] + np.arange(1, h + 1)[None, :]]
        if kind == "level":
            x, y = ((window - mean) / std)[:, None], (targets - mean) / std
        else:
            channels = []
            if kind in ("difference", "both"):  # the window's changes, from the value before it
                channels.append(np.diff(v[np.concatenate([idx[:, :1] - 1, idx], axis=1)], axis=1) / dstd)
            if kind in ("last_value", "both"):
                channels.append((window - last) / dstd)
            x, y = np.stack(channels, axis=1), (targets - last) / dstd
        out[part] = (x.astype(np.float32), y.astype(np.float32), origins)
    return out


def naive_forecasts(v: np.ndarray, origins: np.ndarray, horizon: int, season: int) -> dict[str, np.ndarray]:
    """(N, horizon) forecasts from each origin t: ``naive`` repeats v[t]; ``seasonal_naive``
    repeats the value one season before each target (v[t + k - season·ceil(k / season)])."""
    import numpy as np

    k = np.arange(1, horizon + 1)
    back = k - season * np.ceil(k / season).astype(int)
    return {"naive": np.repeat(v[origins][:, None], horizon, axis=1),
            "seasonal_naive": v[origins[:, None] + back[None, :]]}


def scores(predicted: np.ndarray, actual: np.ndarray, mase_scale: float, prefix: str) -> dict[str, float]:
    """MAE, RMSE and MASE over all horizon steps, and the MAE at the first and the last step."""
    import numpy as np

    err = predicted - actual
    mae = float(np.abs(err).mean())
    out = {f"{prefix}_mae": mae, f"{prefix}_rmse": float(np.sqrt((err ** 2).mean())),
           f"{prefix}_mase": mae / mase_scale, f"{prefix}_mae_h1": float(np.abs(err[:, 0]).mean())}
    if err.shape[1] > 1:
        out[f"{prefix}_mae_h{err.shape[1]}"] = float(np.abs(err[:, -1]).mean())
    return out


def mase_scale(train: np.ndarray, season: int) -> float:
    """MASE's denominator: the in-sample MAE of the seasonal-naive one-step forecast over the training period."""
    import numpy as np

    m = season if len(train) > season else 1
    return float(np.abs(train[m:] - train[:-m]).mean()) or 1.0


def spec(config: DataConfig) -> DataSpec:
    series = read_series(config, as_array=False)
    _check(series, config)
    parts = origin_ranges(len(series.values), config)
    channels = 2 if config.transform == "both" else 1
    return DataSpec("series", (channels, config.window), config.horizon, task="regression",
                    train_size=len(parts["train"]) + len(parts["val"]), val_size=len(parts["val"]),
                    test_size=len(parts["test"]), source=f"{series.source}, column {series.column!r}")


def state(config: DataConfig) -> str:
    return "in the package" if not config.path else "read on use"


def load_arrays(config: DataConfig, progress: Progress) -> Arrays:
    import numpy as np

    series = read_series(config)
    _check(series, config)
    data = prepare(series, config)
    v, h, season = series.values, config.horizon, config.season
    a, b = boundaries(len(v), config)
    scale = mase_scale(v[:a], season)
    baselines: dict[str, dict[str, float]] = {"naive": {}, "seasonal_naive": {}}
    for part in ("val", "test"):
        origins = data[part][2]
        actual = v[origins[:, None] + np.arange(1, h + 1)[None, :]]
        for name, predicted in naive_forecasts(v, origins, h, season).items():
            baselines[name].update(scores(predicted, actual, scale, part))
    (x, y, _), (x_val, y_val, _), (x_test, y_test, test_origins) = data["train"], data["val"], data["test"]
    d = series.dates
    note = (f"series {series.column!r}: {a} training values ({d[0]} to {d[a - 1]}), validation {d[a]} "
            f"to {d[b - 1]}, test {d[b]} to {d[-1]}; {config.transform} transform; test MAE of the naive forecast "
            f"{baselines['naive']['test_mae']:.3g}, seasonal naive (season {season}) "
            f"{baselines['seasonal_naive']['test_mae']:.3g}")
    targets = {"scale": data["scale"], "mase_scale": scale, "horizon": h, "dates": d, "values": v.tolist(),
               "test_origins": test_origins.tolist(), "offset": "mean" if config.transform == "level" else "last",
               "mean": data["mean"], "std": data["std"], "dstd": data["dstd"], "column": series.column}
    return Arrays(x, y, x_test, y_test, x_val=x_val, y_val=y_val, notes=(note,), baselines=baselines, targets=targets)
