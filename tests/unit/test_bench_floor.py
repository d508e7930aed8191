"""The contract floor (bench/floor.py --contract) writes what the operator's contract writes."""

from __future__ import annotations

from datetime import UTC, datetime

from bench.floor import contract_status, one_step_back

from rollback_operator import conditions
from rollback_operator.conditions import Reason, Situation
from rollback_operator.status_models import Phase, RollbackRequestStatus


def _operator_conditions() -> list[tuple[str, str, str]]:
    message = "rolled back to 010000000000000000000000z9"
    done = Situation(Phase.SUCCEEDED, Reason.ROLLBACK_SUCCEEDED, message, triggered=True, resolved=True)
    rendered = conditions.render(done, previous=[], generation=1, now=datetime.now(UTC))
    return [(c.type, c.status, c.reason) for c in rendered]


def test_the_contract_floors_status_has_the_operators_conditions_and_fields() -> None:
    operation = {"id": "d-2", "idempotencyKey": "k", "claimedAt": "2026-12-06T10:00:00Z"}
    status = contract_status(1, operation, ("d-1", "d-0"))

    parsed = RollbackRequestStatus.model_validate(status)  # the operator's own model of the status

    assert [(c.type, c.status, c.reason) for c in parsed.conditions] == _operator_conditions()
    assert parsed.phase is Phase.SUCCEEDED
    assert (parsed.current_version, parsed.target_version) == ("d-1", "d-0")
    assert parsed.operation is not None
    assert parsed.operation.claimed_at is not None
    assert None not in (parsed.started_at, parsed.completed_at)


def test_stepsback_one_is_the_newest_successful_deployment_before_the_live_one() -> None:
    history = {
        "data": [
            {"id": "d-4", "status": "failed"},
            {"id": "d-3", "status": "deployed"},
            {"id": "d-2", "status": "pending"},
            {"id": "d-1", "status": "completed"},
            {"id": "d-0", "status": "deployed"},
        ]
    }
    assert one_step_back(history) == ("d-3", "d-1")
