"""A spec the models refuse (one stored before the CRD validated it) ends Failed, visibly and finally."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from rollback_operator.reconcile.job import Request
from rollback_operator.reconcile.status import write_invalid
from tests.integrations.kstatus import kstatus
from tests.support.memory import MemoryKube, fresh


async def _rejected(body: dict[str, Any]) -> MemoryKube:
    """The request in memory after the operator met ``body``, whose spec the models refuse."""
    kube = MemoryKube(body)
    with pytest.raises(ValidationError) as invalid:
        Request.parse(body)
    await write_invalid(kube, body, invalid.value, clock=lambda: datetime.now(UTC))
    return kube


async def test_an_invalid_spec_ends_failed_for_kstatus_too_with_an_event() -> None:
    body = fresh(generation=3, provider={})  # no provider key
    body["status"] = {"observedGeneration": 0}  # the CRD's default status
    kube = await _rejected(body)

    status = kube.body["status"]
    assert status["phase"] == "Failed"
    assert status["message"].startswith("the spec is invalid: ")
    assert status["observedGeneration"] == 3
    assert {c["type"]: c["reason"] for c in status["conditions"]}["Ready"] == "InvalidSpec"
    assert kstatus(kube.body) == "Failed"  # Flux stops waiting
    assert kube.events == ["InvalidSpec"]


async def test_a_claimed_request_whose_spec_no_longer_passes_ends_unknown_not_failed() -> None:
    """E.g. an upgrade tightened a rule while the rollback was under way: it may have been sent."""
    body = fresh(provider={"vector": {"environmentId": "01jfgxk4", "apiURL": "https://me@api.builtfast.com"}})
    claimed = "2026-11-22T10:00:00Z"
    body["status"] = {"phase": "InProgress", "startedAt": claimed, "operation": {"claimedAt": claimed}}
    kube = await _rejected(body)

    status = kube.body["status"]
    assert status["phase"] == "Unknown"
    assert {c["type"]: c["reason"] for c in status["conditions"]}["Triggered"] == "OutcomeUnknown"
    assert "may have been sent" in status["message"]
    assert status["startedAt"] == claimed  # kept
    assert kube.events == ["OutcomeUnknown"]
