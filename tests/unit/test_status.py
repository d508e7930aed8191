"""The request view (a stable idempotency key per uid) and the status writer's guard and Events."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from rollback_operator.conditions import Reason, Situation
from rollback_operator.reconcile.job import Request
from rollback_operator.reconcile.status import StatusWriter
from rollback_operator.status_models import Operation, Phase
from tests.support.memory import MemoryKube, fresh
from tests.unit import samples


def _request(uid: str) -> Request:
    return samples.request(uid)


def test_the_idempotency_key_is_a_version_4_uuid_stable_per_uid() -> None:
    key = _request("6a1f").idempotency_key
    assert uuid.UUID(key).version == 4
    assert key == _request("6a1f").idempotency_key
    assert key != _request("6a20").idempotency_key


def _writer(kube: MemoryKube) -> StatusWriter:
    return StatusWriter(kube, Request.parse(kube.body), clock=lambda: NOW)


NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
WAITING = Situation(Phase.WAITING, Reason.WAITING_FOR_TARGET, "waiting for a")
TRIGGERED = Situation(Phase.IN_PROGRESS, Reason.ROLLBACK_TRIGGERED, "triggered", triggered=True)
SUCCEEDED = Situation(Phase.SUCCEEDED, Reason.ROLLBACK_SUCCEEDED, "rolled back")


async def test_every_write_before_a_claim_is_guarded_by_the_resource_version_read() -> None:
    kube = MemoryKube(fresh())
    await _writer(kube).write(WAITING)
    assert kube.patches[0][1] == "100"  # the resourceVersion the request was read at


async def test_the_claimants_writes_are_not_guarded() -> None:
    kube = MemoryKube(fresh())
    writer = _writer(kube)
    claim = Operation(claimed_at=NOW, claimed_by="me", idempotency_key="k")
    await writer.write(Situation(Phase.IN_PROGRESS, Reason.CLAIMED, "claimed"), guard=True, operation=claim)
    await writer.write(TRIGGERED, operation=claim.model_copy(update={"id": "op-1"}))
    assert [rv for _, rv in kube.patches] == ["100", None]


async def test_a_write_that_changes_nothing_is_skipped_even_when_guarded() -> None:
    kube = MemoryKube(fresh())
    writer = _writer(kube)
    await writer.write(WAITING)
    await writer.write(WAITING, guard=True)
    assert len(kube.patches) == 1


async def test_passed_situations_get_their_events_in_order_before_the_written_one() -> None:
    kube = MemoryKube(fresh())
    claim = Operation(claimed_at=NOW, claimed_by="me", idempotency_key="k", id="op-1")
    await _writer(kube).write(SUCCEEDED, passed=[TRIGGERED], operation=claim)
    assert len(kube.patches) == 1
    assert kube.events == [Reason.ROLLBACK_TRIGGERED, Reason.ROLLBACK_SUCCEEDED]
