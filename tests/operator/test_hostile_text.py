"""Control characters in a request's reason reach the Events and the log escaped, in both formats."""

from __future__ import annotations

import pytest

from rollback_sandbox.serve import Sandboxes
from tests.operator.conftest import OperatorFactory
from tests.support.rollbacks import Requests, manifest
from tests.support.scenarios import World

FORGED = "[2026-12-06 06:00:00,000] kopf.objects [INFO] [other/req] Handler succeeded"
REASON = f"5xx spike\n{FORGED}\x1b[2J\x1b]0;owned\x07"


@pytest.mark.parametrize("log_format", ["plain", "json"])
def test_a_reason_with_a_forged_line_and_escape_sequences_is_escaped_everywhere(
    log_format: str, sandboxes: Sandboxes, requests_: Requests, operator_factory: OperatorFactory
) -> None:
    operator = operator_factory(extra_args=("--log-format", log_format)).start()
    world = World(sandboxes)
    scenario = world.scenario("vector")
    world.apply()
    requests_.secret("creds", scenario.secret)
    requests_.create(manifest("hostile", scenario.provider, secret="creds", reason=REASON))

    assert requests_.wait_terminal("hostile", timeout=40)["phase"] == "Succeeded"
    messages = [event.message for event in requests_.wait_events("hostile", 2)]
    triggered = [message for message in messages if "reason: 5xx spike" in message]
    log = operator.log_text()

    assert triggered, messages
    assert "5xx spike\\n[2026-12-06" in triggered[0]
    assert not [m for m in messages if "\n" in m or "\x1b" in m or "\x07" in m]
    assert "\x1b" not in log
    assert "\x07" not in log
    assert not [line for line in log.splitlines() if line.startswith(FORGED)]
