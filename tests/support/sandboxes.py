"""The provider sandboxes as the operator tests use them: unseeded, served from threads.

``serving`` starts and stops them; the ``sandboxes`` fixture (``tests/conftest.py``) and the
plugin tests' module-wide one are built on it. Each test seeds what it needs (``scenarios.World``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from rollback_sandbox.serve import Sandboxes


@contextlib.contextmanager
def serving() -> Iterator[Sandboxes]:
    """The three sandboxes, empty, on loopback ports, until the block ends."""
    boxes = Sandboxes(seed=False).start_in_thread()
    try:
        yield boxes
    finally:
        boxes.stop_thread()
