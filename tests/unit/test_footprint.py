"""What starting the operator imports: nothing it may never need (each import costs memory)."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
import rollback_operator.cli, rollback_operator.handlers
unwanted = ("cryptography", "jwt", "rollback_sandbox", "hypothesis")
print(",".join(sorted(m for m in unwanted if m in sys.modules)))
"""


def test_the_operator_imports_neither_cryptography_nor_the_sandboxes_until_it_needs_them() -> None:
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)

    assert result.stdout.strip() == ""  # cryptography + PyJWT: only once a Yandex key is used
