"""Text from outside made safe to print: control characters escaped, as ``\n``, ``\x1b``, ``\u009b``.

A spec's ``reason``, a provider's error text or a version label may carry a newline (which would
forge a whole line in a plain log), an ANSI escape sequence (which a terminal would obey) or a C1
control. ``printable`` escapes every C0 and C1 control, DEL and the Unicode line and paragraph
separators, and leaves all other text alone. ``PrintableLogs`` applies it to every log record.

Used by the logging setup in ``cli.py``, by ``kube.event_body`` (every Event message), by
``errors.RollbackError`` (every error message, so every provider text on its way to status) and
by the value types of ``providers/base.py`` (the messages adapters hand the reconciler).
"""

from __future__ import annotations

import logging
import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    return f"\\x{ord(char):02x}" if ord(char) < 0x80 else f"\\u{ord(char):04x}"


def printable(text: str) -> str:
    """``text`` with every control character escaped; one line, safe for a terminal."""
    return _CONTROL.sub(_escape, text)


class PrintableLogs(logging.Filter):
    """Renders each record's message with its arguments, escaped (plain and JSON alike)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a bad format string: let logging report it as usual
            return True
        record.msg, record.args = printable(message), None
        return True


def escape_logs(logger: logging.Logger | None = None) -> None:
    """Add ``PrintableLogs`` to every handler of ``logger`` (the root logger by default)."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, PrintableLogs) for f in handler.filters):
            handler.addFilter(PrintableLogs())
