"""The app's widgets, one per file: the live view (monitor, live_view, tail_log), the
settings panel, and the Runs view's overlay plot."""
