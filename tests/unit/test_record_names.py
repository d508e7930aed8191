"""The record names the operator keeps: what they say, and that they say nothing when unsure."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from prometheus_client import REGISTRY

from rollback_operator.errors import KubernetesUnavailable
from rollback_operator.recordnames import RecordNames


class Source:
    """Lists ``names`` at version "7", then plays ``events`` (type, name, version) and then holds
    the watch open, breaks it, or (``ends``) ends the first watch as the server does after a while."""

    def __init__(
        self, names: set[str], events: list[tuple[str, str, str]], *, breaks: bool = False, ends: bool = False
    ) -> None:
        self.names, self.events, self.breaks, self.ends = names, events, breaks, ends
        self.watched_from: list[str] = []
        self.listings = 0
        self.drained = asyncio.Event()  # every event was taken
        self.broken = asyncio.Event()
        self.listed_again = asyncio.Event()
        self.resumed = asyncio.Event()

    async def record_names(self) -> tuple[set[str], str]:
        self.listings += 1
        if self.listings > 1:
            self.listed_again.set()
        return set(self.names), "7"

    async def watch_record_names(self, resource_version: str) -> AsyncIterator[tuple[str, str, str]]:
        self.watched_from.append(resource_version)
        if len(self.watched_from) > 1:
            self.resumed.set()
        else:
            for event in self.events:
                yield event
        self.drained.set()
        if self.breaks:
            self.broken.set()
            raise KubernetesUnavailable("Kubernetes API: watch of RollbackRecords: HTTP 500")
        if self.ends and len(self.watched_from) == 1:
            return
        await asyncio.Event().wait()  # open until cancelled


def _known() -> float | None:
    return REGISTRY.get_sample_value("rollback_records")


def test_nothing_is_known_absent_before_the_names_are_listed() -> None:
    names = RecordNames(Source({"a"}, []))

    assert not names.absent("a")
    assert not names.absent("b")


@pytest.mark.timeout(10)
async def test_listed_and_watched_names_answer_from_memory() -> None:
    events = [("ADDED", "c", "8"), ("DELETED", "a", "9"), ("BOOKMARK", "", "10"), ("MODIFIED", "d", "11")]
    source = Source({"a", "b"}, events)
    names = RecordNames(source)
    task = asyncio.create_task(names.keep())
    await source.drained.wait()

    assert source.watched_from == ["7"]  # from the listing's version on
    assert [n for n in "abcde" if names.absent(n)] == ["a", "e"]
    assert _known() == 3  # b, c, d
    names.note("e")  # created by this operator, before its event arrives
    assert not names.absent("e")
    assert _known() == 4
    task.cancel()


@pytest.mark.timeout(10)
async def test_a_watch_the_server_ends_resumes_from_the_last_version_seen_without_listing_again() -> None:
    source = Source({"a"}, [("ADDED", "b", "8"), ("BOOKMARK", "", "12")], ends=True)
    names = RecordNames(source)
    task = asyncio.create_task(names.keep())

    await source.resumed.wait()
    task.cancel()

    assert source.watched_from == ["7", "12"]  # the bookmark's version, not the listing's
    assert source.listings == 1
    assert names.absent("c")  # still answering from memory
    assert not names.absent("b")


@pytest.mark.timeout(10)
async def test_a_broken_watch_makes_every_look_a_read_until_the_names_are_listed_again() -> None:
    source = Source({"a"}, [], breaks=True)
    names = RecordNames(source, retry_max=0.01)
    task = asyncio.create_task(names.keep())

    await source.broken.wait()
    unsure = not names.absent("z")  # the watch broke: every look is a read again
    await source.listed_again.wait()
    task.cancel()

    assert unsure
