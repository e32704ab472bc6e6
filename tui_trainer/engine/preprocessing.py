"""What a run's model needs done to raw inputs and to its outputs, recorded in the run folder
(``preprocessing.json``) when the run starts: the training split's per-channel mean and standard
deviation that its pictures were normalised with (and an image folder's size and colour), a series'
window, transform and scale (its forecasts back in the data's units), a text's vocabulary. A trained
model leaves the tool with these (issue 33: predict, export, load from Python); a run that only has
its weights would give wrong answers on raw inputs, silently."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..config import Config
    from ..data import Datasets

#: The version of the record's layout, so that a reader can tell an older one.
FORMAT = 1


def preprocessing(data: Datasets, config: Config) -> dict[str, Any]:
    """The record, from the loaded data and the run's settings."""
    spec = data.spec
    out: dict[str, Any] = {"format": FORMAT, "dataset": config.data.dataset, "task": spec.task,
                           "input_shape": list(spec.input_shape), "classes": list(spec.classes)}
    if data.stats is not None:  # pictures: uint8 in, normalised per channel on the device
        mean, std = data.stats
        out["pixels"] = {"dtype": "uint8", "mean": [float(v) for v in mean.flatten()],
                         "std": [float(v) for v in std.flatten()]}
    if config.data.dataset == "image_folder":
        out["image"] = {"size": config.data.image_size, "color": config.data.color}
    if spec.kind.values:
        targets = data.targets or {}
        # a series' inputs: (values - mean) / std (level), or changes and distances from the last value / dstd;
        # its outputs times scale, plus the mean (level) or the window's last value
        out["values"] = {k: targets[k] for k in ("scale", "mean", "std", "dstd", "offset", "horizon", "column")
                         if k in targets}
        if config.data.dataset == "series":
            out["values"].update(window=config.data.window, transform=config.data.transform)
    if spec.kind.per_position:
        out["text"] = {"vocabulary": list(spec.classes), "seq_len": config.data.seq_len}
    return out
