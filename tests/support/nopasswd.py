"""``rollback-operator`` as a uid without a passwd entry: ``python -m tests.support.nopasswd run ...``.

The image runs as uid 65532, which no passwd file names, and a Pod sets no ``USER`` or ``LOGNAME``.
Here ``pwd.getpwuid`` answers as it does there (``KeyError``) and those variables are gone, so the
CLI's whole startup path (kopf included) meets what it meets in a Pod, without root or a container.
"""

from __future__ import annotations

import os
import pwd
import sys
from typing import NoReturn


def _no_entry(uid: int) -> NoReturn:
    raise KeyError(f"getpwuid(): uid not found: {uid}")


def main() -> int:
    pwd.getpwuid = _no_entry
    for variable in ("LOGNAME", "USER", "LNAME", "USERNAME"):  # what getpass.getuser() reads first
        os.environ.pop(variable, None)
    from rollback_operator.cli import main as cli

    return cli()


if __name__ == "__main__":
    sys.exit(main())
