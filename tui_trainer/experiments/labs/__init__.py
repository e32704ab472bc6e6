"""Labs: the lesson's questions answered by small experiments (see :mod:`.spec` for the file format)."""

from .spec import Lab, LabError, find_lab, lab_paths, load_lab

__all__ = ["Lab", "LabError", "find_lab", "lab_paths", "load_lab"]
