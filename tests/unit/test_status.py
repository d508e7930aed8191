"""The request view (a stable idempotency key per uid) and the status writer's guard and Events."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from rollback_operator.conditions import Reason, Situation
from rollback_operator.models import Operation, Phase
from rollback_operator.status import Request, StatusWriter
from tests.unit import samples


def _request(uid: str) -> Request:
    return samples.request(uid)


def test_the_idempotency_key_is_a_version_4_uuid_stable_per_uid() -> None:
    key = _request("6a1f").idempotency_key
    assert uuid.UUID(key).version == 4
    assert key == _request("6a1f").idempotency_key
    assert key != _request("6a20").idempotency_key


class Recorder:
    """Records status patches (answering with the patched body) and Events."""

    def __init__(self) -> None:
        self.patches: list[tuple[dict[str, Any], str | None]] = []
        self.events: list[str] = []

    async def patch_status(
        self, namespace: str, name: str, status: Mapping[str, Any], *, resource_version: str | None = None
    ) -> dict[str, Any]:
        self.patches.append((dict(status), resource_version))
        body = _request("u").body
        return {**body, "metadata": {**body["metadata"], "resourceVersion": str(len(self.patches) + 1)}}

    async def post_event(self, obj: Mapping[str, Any], *, type_: str, reason: str, message: str) -> None:
        self.events.append(reason)


def _writer(kube: Recorder) -> StatusWriter:
    return StatusWriter(kube, _request("u"), clock=lambda: NOW)  # type: ignore[arg-type]


NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
WAITING = Situation(Phase.WAITING, Reason.WAITING_FOR_TARGET, "waiting for a")
TRIGGERED = Situation(Phase.IN_PROGRESS, Reason.ROLLBACK_TRIGGERED, "triggered", triggered=True)
SUCCEEDED = Situation(Phase.SUCCEEDED, Reason.ROLLBACK_SUCCEEDED, "rolled back")


async def test_every_write_before_a_claim_is_guarded_by_the_resource_version_read() -> None:
    kube = Recorder()
    await _writer(kube).write(WAITING)
    assert kube.patches[0][1] == "1"


async def test_the_claimants_writes_are_not_guarded() -> None:
    kube = Recorder()
    writer = _writer(kube)
    claim = Operation(claimed_at=NOW, claimed_by="me", idempotency_key="k")
    await writer.write(Situation(Phase.IN_PROGRESS, Reason.CLAIMED, "claimed"), guard=True, operation=claim)
    await writer.write(TRIGGERED, operation=claim.model_copy(update={"id": "op-1"}))
    assert [rv for _, rv in kube.patches] == ["1", None]


async def test_a_write_that_changes_nothing_is_skipped_even_when_guarded() -> None:
    kube = Recorder()
    writer = _writer(kube)
    await writer.write(WAITING)
    await writer.write(WAITING, guard=True)
    assert len(kube.patches) == 1


async def test_passed_situations_get_their_events_in_order_before_the_written_one() -> None:
    kube = Recorder()
    claim = Operation(claimed_at=NOW, claimed_by="me", idempotency_key="k", id="op-1")
    await _writer(kube).write(SUCCEEDED, passed=[TRIGGERED], operation=claim)
    assert len(kube.patches) == 1
    assert kube.events == [Reason.ROLLBACK_TRIGGERED, Reason.ROLLBACK_SUCCEEDED]
