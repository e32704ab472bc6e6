"""Errors that are the user's to fix. The CLI prints their message and exits non-zero, with no traceback."""


class UserError(Exception):
    """Something the user can fix; ``str()`` says what and how."""

    exit_code = 2
