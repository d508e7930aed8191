"""Exit codes of ``kubectl rollback`` and the one error type its modules raise.

Every module of the plugin raises ``PluginError`` with a message meant for the user and the exit
code to end with; ``cli.main`` prints the message and exits. Used by every module of the plugin.
"""

from __future__ import annotations

EXIT_OK = 0
"""The command did what it was asked; with --wait or -w, the rollback succeeded."""
EXIT_FAILED = 1
"""The rollback ended Failed or Unknown, or the API server refused or could not be reached."""
EXIT_USAGE = 2
"""A flag or argument is wrong; nothing was sent to the cluster."""
EXIT_INTERRUPTED = 130
"""Ctrl-C while watching (128 + SIGINT, as shells report it); the request is left as it is."""


class PluginError(Exception):
    """A failure to report to the user, with the exit code to end with."""

    def __init__(self, message: str, *, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
