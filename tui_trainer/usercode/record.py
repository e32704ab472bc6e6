"""What a run records of the code of the user's it ran (``summary.json``'s ``code``): each file its
settings name, with the file's SHA-256 then, and each installed plugin's family or dataset, with its
package and version."""

from __future__ import annotations

from ..config.schema import DATASETS, MODEL_KINDS
from . import plugins
from .refs import refs_of


def code_record(config) -> dict[str, dict[str, str | None]]:
    """For each setting that names code: where it is, and the SHA-256 of its file (None for a plugin)."""
    out: dict[str, dict[str, str | None]] = {ref.key: {"code": ref.where, "sha256": ref.digest()}
                                             for ref in refs_of(config)}
    for key, kind, name, built_in in (("model.kind", "models", config.model.kind, MODEL_KINDS),
                                      ("data.dataset", "datasets", config.data.dataset, DATASETS)):
        if name not in built_in and name in plugins.names(kind):  # a plugin's: its package and version say what ran
            out[key] = {"code": plugins.load(kind, name).where, "sha256": None}
    return out
