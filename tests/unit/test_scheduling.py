"""The per-target queue (creation order, claims first, waiters wake on change) and the task supervisor."""

from __future__ import annotations

import asyncio
from typing import Any

from rollback_operator.scheduling import QueueEntry, QueueIndex, Supervisor, TargetGate, queue_entry


def _body(name: str, created: str, *, phase: str | None = None, claimed: bool = False) -> dict[str, object]:
    status: dict[str, object] = {"phase": phase} if phase else {}
    if claimed:
        status["operation"] = {"claimedAt": "2026-11-22T10:00:00Z"}
    return {
        "metadata": {"name": name, "namespace": "ns", "uid": f"uid-{name}", "creationTimestamp": created},
        "status": status,
    }


def test_finished_or_unparseable_requests_leave_the_queue() -> None:
    assert queue_entry(_body("a", "t1", phase="Succeeded"), "k") is None
    assert queue_entry(_body("a", "t1"), None) is None
    assert queue_entry(_body("a", "t1", claimed=True), "k") == {
        "k": QueueEntry("t1", "ns/a", "uid-a", claimed=True)
    }


def test_earlier_and_claimed_requests_go_first_and_names_break_ties() -> None:
    early, late = (
        QueueEntry("2026-01-01T00:00:00Z", "ns/b", "1"),
        QueueEntry("2026-01-01T00:00:01Z", "ns/a", "2"),
    )
    twin = QueueEntry("2026-01-01T00:00:00Z", "ns/c", "3")
    assert early.ahead_of(late)
    assert not late.ahead_of(early)
    assert early.ahead_of(twin)
    assert not twin.ahead_of(early)
    assert QueueEntry("2026-01-02T00:00:00Z", "ns/z", "4", claimed=True).ahead_of(early)
    assert not early.ahead_of(early)


async def test_a_waiter_is_told_who_is_ahead_and_proceeds_once_they_finish() -> None:
    first, second = QueueEntry("t1", "ns/first", "1"), QueueEntry("t2", "ns/second", "2")
    index: dict[str, list[QueueEntry]] = {"k": [first, second]}
    gate = TargetGate(index=index, recheck=30)
    told: list[list[str]] = []

    async def on_wait(ahead: list[QueueEntry]) -> None:
        told.append([e.name for e in ahead])

    waiter = asyncio.create_task(gate.wait_turn("k", second, on_wait=on_wait))
    await asyncio.sleep(0)
    assert told == [["ns/first"]]
    assert not waiter.done()
    index["k"] = [second]
    gate.notify("k")
    await asyncio.wait_for(waiter, timeout=1)  # woken by notify, not by the 30 s recheck


def test_the_queue_index_follows_requests_until_they_finish() -> None:
    queue = QueueIndex()
    queue.update(_body("a", "t1"), "k")
    queue.update(_body("b", "t2", claimed=True), "k")
    assert sorted(e.name for e in queue["k"]) == ["ns/a", "ns/b"]

    queue.update(_body("a", "t1", phase="Failed"), "k")
    queue.discard("uid-b")

    assert "k" not in queue
    assert len(queue) == 0


class Work:
    """A run that either finishes when told to or runs until cancelled; counts existence checks."""

    def __init__(self) -> None:
        self.finish = asyncio.Event()
        self.cancelled = False
        self.checks = 0

    async def run(self, namespace: str, name: str, body: dict[str, Any] | None) -> None:
        try:
            await self.finish.wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise

    def gone(self, answer: bool) -> Any:
        async def check() -> bool:
            self.checks += 1
            return answer

        return check


async def test_a_task_that_ends_by_itself_after_leaving_the_watch_costs_no_check() -> None:
    work = Work()
    supervisor = Supervisor(work.run, finish_grace=5)
    supervisor.ensure("u", "ns", "r")
    supervisor.cancel_if_gone("u", work.gone(True))
    work.finish.set()  # the finishing task posts its last Event and ends
    await asyncio.gather(*supervisor.critical)
    assert (work.checks, work.cancelled) == (0, False)


async def test_a_task_still_running_is_cancelled_only_when_the_request_is_really_gone() -> None:
    kept, deleted = Work(), Work()
    for work, answer in ((kept, False), (deleted, True)):
        supervisor = Supervisor(work.run, finish_grace=0.01)
        supervisor.ensure("u", "ns", "r")
        supervisor.cancel_if_gone("u", work.gone(answer))
        await asyncio.gather(*supervisor.critical)
        await asyncio.sleep(0)
    assert (kept.checks, kept.cancelled) == (1, False)
    assert (deleted.checks, deleted.cancelled) == (1, True)
    kept.finish.set()
