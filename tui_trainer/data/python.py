"""Data from the user's own code (``data.dataset = "python"``): the callable that
``data.python.loader`` names, called with the keyword arguments of ``[data.python.args]``.

It returns the splits as arrays (numpy arrays, torch tensors or nested lists):

- a dict with ``x`` and ``y``, and optionally ``x_test``/``y_test`` (else ``data.test_fraction`` of
  the samples is held out), ``x_val``/``y_val`` (else ``data.val_fraction`` of the rest) and
  ``classes`` (the class names);
- or a tuple ``(x, y)`` or ``(x, y, x_test, y_test)``;
- or a map-style ``torch.utils.data.Dataset`` of ``(x, y)`` pairs, alone or as a dict's ``train``,
  ``test`` and ``val`` (and ``classes``): held on the device where it fits the memory budget, else
  streamed a batch at a time through its ``__getitem__`` (:mod:`.torch_dataset`).

``x`` holds one row per sample, channels first where it has channels: ``(N, C, H, W)`` uint8 pixels
are images (normalised with the training split's per-channel statistics, as every image dataset
here), anything else is read as float32 and given to the model as it is. Integer ``y`` are class
indices (a classification); real-valued ``y``, ``(N,)`` or ``(N, K)``, are values to predict (a
regression, scored in the data's own units). The spec (task, shape, classes) is read from what the
loader returns, which is called once per process for the same settings and file.
"""

from __future__ import annotations

import json
from typing import Any, Callable

from ..config.schema import DataConfig
from ..usercode import plugins
from ..usercode.calls import call, load
from ..usercode.refs import CodeError, CodeRef, parse
from .arrays import Arrays, check_arrays
from .spec import DataSpec, Progress

KEY = "data.python.loader"
SPLITS = ("x", "y", "x_test", "y_test", "x_val", "y_val")
#: A loader's Datasets, by the splits they give.
DATASET_SPLITS = {"train": ("x", "y"), "test": ("x_test", "y_test"), "val": ("x_val", "y_val")}
#: The last loader result in this process, by (settings, file hash): spec() and load_arrays() call it once.
_LAST: dict[str, Arrays] = {}


def own_loader(config: DataConfig) -> tuple[CodeRef, Callable[..., Any], dict[str, Any]]:
    """The user's loader for ``config``: a reference to it (for messages), the callable, and the keyword settings
    it is called with (``[data.python.args]``, or a plugin dataset's ``[data.<name>]``)."""
    if config.dataset == "python":
        ref = parse(KEY, config.python.loader)
        return ref, load(ref), dict(config.python.args)
    plugin = plugins.load("datasets", config.dataset)
    return plugin.ref("data.dataset"), plugin.function, dict(config.plugin)


def _array(value: Any, name: str, where: str):
    import numpy as np

    from .torch_dataset import DatasetRows

    if isinstance(value, DatasetRows):
        return value  # read sample by sample, as the splits ask for them
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor
        value = value.detach().cpu().numpy()
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise CodeError(f"{where} returned {name} that is not an array ({exc})") from None
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        raise CodeError(f"{where} returned {name} of dtype {array.dtype}; give numbers (an array or tensor)")
    return array


def _from_datasets(result: Any, where: str) -> Any:
    """Datasets in the result (alone, or as a dict's train, test and val) as their samples and targets."""
    from .torch_dataset import DatasetRows, is_dataset, labels  # numpy: not for listing presets

    if is_dataset(result):
        result = {"train": result}
    if not isinstance(result, dict) or not any(is_dataset(result.get(k)) for k in DATASET_SPLITS):
        return result
    unknown = [k for k in result if k not in (*DATASET_SPLITS, "classes")]
    if unknown:
        raise CodeError(f"{where} returned unknown key(s) {', '.join(map(repr, unknown))} beside its Datasets; "
                        "known: train, test, val, classes")
    named = {"classes": result["classes"]} if "classes" in result else {}
    for split, (x, y) in DATASET_SPLITS.items():
        if result.get(split) is not None:
            named[x], named[y] = DatasetRows(result[split], where), labels(result[split], where)
    return named


def _named(result: Any, where: str) -> dict[str, Any]:
    """The loader's result as named splits, or one line saying what it should have returned."""
    result = _from_datasets(result, where)
    if isinstance(result, dict):
        unknown = [k for k in result if k not in (*SPLITS, "classes")]
        if unknown:
            raise CodeError(f"{where} returned unknown key(s) {', '.join(map(repr, unknown))}; "
                            f"known: {', '.join(SPLITS)}, classes")
        named = dict(result)
    elif isinstance(result, (tuple, list)) and len(result) in (2, 4):
        named = dict(zip(SPLITS, result))
    else:
        raise CodeError(f"{where} returned {type(result).__name__}; return a dict with x and y (and "
                        "optionally x_test, y_test, x_val, y_val, classes), or a tuple (x, y[, x_test, y_test])")
    for pair in (("x", "y"), ("x_test", "y_test"), ("x_val", "y_val")):
        given = [k for k in pair if named.get(k) is not None]
        if len(given) == 1:
            raise CodeError(f"{where} returned {given[0]} without {[k for k in pair if k not in given][0]}; "
                            "give both or neither")
    if named.get("x") is None:
        raise CodeError(f"{where} returned no x and y; they are the training samples and their targets")
    return named


def _x(array, name: str, where: str):
    import numpy as np

    from .torch_dataset import DatasetRows

    if isinstance(array, DatasetRows):
        return array  # uint8 (C, H, W) pictures or float32 samples, one read at a time
    if array.ndim < 2:
        raise CodeError(f"{where} returned {name} of shape {array.shape}; give one row per sample: (N, ...)")
    if array.dtype == np.uint8 and array.ndim == 4:
        return np.ascontiguousarray(array)  # pixels, channels first
    return np.ascontiguousarray(array, dtype=np.float32)


def _y(array, values: bool):
    import numpy as np

    if values:
        return np.ascontiguousarray(array.reshape(len(array), -1), dtype=np.float32)  # (N, K) values to predict
    return array.reshape(-1).astype(np.int64)


def _arrays(config: DataConfig, progress: Progress) -> Arrays:
    import numpy as np

    ref, loader, args = own_loader(config)
    where = f"{ref.key}: {ref.where}"
    key = json.dumps([ref.where, ref.digest(), args], sort_keys=True, default=str)
    if key in _LAST:
        return _LAST[key]
    progress(f"calling {ref.name}", 0, None)
    named = _named(call(ref, loader, **args), where)
    found = {name: _array(named[name], name, where) for name in SPLITS if named.get(name) is not None}
    values = not (np.issubdtype(found["y"].dtype, np.integer) or found["y"].dtype == np.bool_)
    for name in ("y_test", "y_val"):
        if name in found and values != (not np.issubdtype(found[name].dtype, np.integer)):
            raise CodeError(f"{where} returned y and {name} of different kinds ({found['y'].dtype} and "
                            f"{found[name].dtype}): class indices in both, or real values in both")
    xs = {name: _x(found[name], name, where) for name in ("x", "x_test", "x_val") if name in found}
    ys = {name: _y(found[name], values) for name in ("y", "y_test", "y_val") if name in found}
    arrays = Arrays(xs["x"], ys["y"], xs.get("x_test"), ys.get("y_test"), x_val=xs.get("x_val"), y_val=ys.get("y_val"))
    check_arrays(arrays, where, values)
    for name in ("x_val",):
        if name in xs and xs[name].shape[1:] != xs["x"].shape[1:]:
            raise CodeError(f"{where}: x_val must have the shape of x per sample {xs['x'].shape[1:]}")
    if values:
        arrays.targets = {"horizon": arrays.y.shape[1]}
        if any(a is not None and a.shape[1] != arrays.y.shape[1] for a in (arrays.y_test, arrays.y_val)):
            raise CodeError(f"{where}: y_test and y_val need {arrays.y.shape[1]} value(s) per sample, as y")
    else:
        top = max(int(a.max()) for a in (arrays.y, arrays.y_test, arrays.y_val) if a is not None and len(a))
        names = named.get("classes")
        classes = tuple(str(c) for c in names) if names is not None else tuple(str(c) for c in range(top + 1))
        if len(classes) <= top:
            raise CodeError(f"{where} returned {len(classes)} class names for labels up to {top}")
        arrays.classes = classes
    _LAST.clear()
    _LAST[key] = arrays
    return arrays


def load_arrays(config: DataConfig, progress: Progress) -> Arrays:
    return _arrays(config, progress)


def spec(config: DataConfig) -> DataSpec:
    """Read from what the loader returns (it is called here, once per process)."""
    arrays = _arrays(config, lambda *_: None)
    ref = own_loader(config)[0]
    values = bool(arrays.targets)
    n_test = len(arrays.y_test) if arrays.y_test is not None else 0
    n_val = len(arrays.y_val) if arrays.y_val is not None else 0
    mine = config.dataset == "python"
    return DataSpec(ref.name if mine else config.dataset, tuple(arrays.x.shape[1:]),
                    arrays.y.shape[1] if values else len(arrays.classes),
                    task="regression" if values else "classification", train_size=len(arrays.y) + n_val,
                    test_size=n_test, val_size=n_val, classes=arrays.classes,
                    images=arrays.x.ndim == 4 and arrays.x.dtype.name == "uint8",
                    source=f"your code: {ref.where}" if mine else f"a plugin: {ref.where}")


def state(config: DataConfig) -> str:
    return "made by your code on use" if config.dataset == "python" else "made by its plugin on use"
