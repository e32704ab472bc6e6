"""Run folders on disk: writing them while training, reading them afterwards."""

from .folder import RunFolder, RunFolderError, read_events, read_summary

__all__ = ["RunFolder", "RunFolderError", "read_events", "read_summary"]
