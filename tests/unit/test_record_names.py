"""The record names the operator keeps: what they say, and that they say nothing when unsure."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from rollback_operator.errors import KubernetesUnavailable
from rollback_operator.recordnames import RecordNames


class Source:
    """Lists ``names`` at version "7", then plays ``events`` and then holds the watch open (or
    breaks it)."""

    def __init__(self, names: set[str], events: list[tuple[str, str]], *, breaks: bool = False) -> None:
        self.names, self.events, self.breaks = names, events, breaks
        self.watched_from: list[str] = []
        self.listings = 0
        self.drained = asyncio.Event()  # every event was taken
        self.broken = asyncio.Event()
        self.listed_again = asyncio.Event()

    async def record_names(self) -> tuple[set[str], str]:
        self.listings += 1
        if self.listings > 1:
            self.listed_again.set()
        return set(self.names), "7"

    async def watch_record_names(self, resource_version: str) -> AsyncIterator[tuple[str, str]]:
        self.watched_from.append(resource_version)
        for event in self.events:
            yield event
        self.drained.set()
        if self.breaks:
            self.broken.set()
            raise KubernetesUnavailable("Kubernetes API: watch of RollbackRecords: HTTP 500")
        await asyncio.Event().wait()  # open until cancelled


def test_nothing_is_known_absent_before_the_names_are_listed() -> None:
    names = RecordNames(Source({"a"}, []))

    assert not names.absent("a")
    assert not names.absent("b")


@pytest.mark.timeout(10)
async def test_listed_and_watched_names_answer_from_memory() -> None:
    source = Source({"a", "b"}, [("ADDED", "c"), ("DELETED", "a"), ("BOOKMARK", ""), ("MODIFIED", "d")])
    names = RecordNames(source)
    task = asyncio.create_task(names.keep())
    await source.drained.wait()

    assert source.watched_from == ["7"]  # from the listing's version on
    assert [n for n in "abcde" if names.absent(n)] == ["a", "e"]
    names.note("e")  # created by this operator, before its event arrives
    assert not names.absent("e")
    task.cancel()


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
