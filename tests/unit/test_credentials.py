"""Secret reads: one read for many callers, reused briefly, never a reason to fail by themselves."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest

from rollback_operator.config import Timing
from rollback_operator.credentials import SecretCache
from rollback_operator.errors import CredentialsInvalid, CredentialsMissing, KubernetesUnavailable
from rollback_operator.reconcile.calls import Calls
from rollback_operator.reconcile.job import Job
from tests.unit import samples


@dataclass
class Secrets:
    """A Secret store that counts reads and can hold each read until released."""

    values: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    reads: int = 0
    gate: asyncio.Event | None = None
    failure: Exception | None = None

    async def read_secret(self, namespace: str, name: str) -> dict[str, str] | None:
        self.reads += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.failure is not None:
            raise self.failure
        value = self.values.get((namespace, name))
        return dict(value) if value is not None else None


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_concurrent_reads_of_one_secret_make_one_call() -> None:
    store = Secrets({("ns", "s"): {"token": "t"}}, gate=asyncio.Event())
    cache = SecretCache(store.read_secret, ttl=5)
    readers = [asyncio.create_task(cache.read("ns", "s")) for _ in range(50)]
    await asyncio.sleep(0)
    store.gate.set()  # type: ignore[union-attr]
    results = await asyncio.gather(*readers)
    assert store.reads == 1
    assert all(data == {"token": "t"} for data, _ in results)


async def test_a_read_is_reused_until_it_is_older_than_the_ttl() -> None:
    store, clock = Secrets({("ns", "s"): {"token": "t1"}}), Clock()
    cache = SecretCache(store.read_secret, ttl=5, clock=clock)
    assert await cache.read("ns", "s") == ({"token": "t1"}, False)
    store.values[("ns", "s")] = {"token": "t2"}
    clock.now += 4.9
    assert await cache.read("ns", "s") == ({"token": "t1"}, True)
    clock.now += 0.2
    assert await cache.read("ns", "s") == ({"token": "t2"}, False)
    assert store.reads == 2


async def test_a_missing_secret_is_never_remembered() -> None:
    store = Secrets()
    cache = SecretCache(store.read_secret, ttl=5)
    assert await cache.read("ns", "s") == (None, False)
    store.values[("ns", "s")] = {"token": "t"}  # applied a moment later, e.g. by GitOps
    assert await cache.read("ns", "s") == ({"token": "t"}, False)


async def test_forget_and_fresh_go_to_the_api_server() -> None:
    store = Secrets({("ns", "s"): {"token": "t"}})
    cache = SecretCache(store.read_secret, ttl=5)
    await cache.read("ns", "s")
    await cache.read("ns", "s", fresh=True)
    cache.forget("ns", "s")
    await cache.read("ns", "s")
    assert store.reads == 3


async def test_a_ttl_of_zero_reads_every_time() -> None:
    store = Secrets({("ns", "s"): {"token": "t"}})
    cache = SecretCache(store.read_secret, ttl=0)
    for _ in range(3):
        await cache.read("ns", "s")
    assert store.reads == 3


async def test_a_failed_read_reaches_every_waiter_and_is_not_remembered() -> None:
    store = Secrets(
        {("ns", "s"): {"token": "t"}}, gate=asyncio.Event(), failure=KubernetesUnavailable("down")
    )
    cache = SecretCache(store.read_secret, ttl=5)
    readers = [asyncio.create_task(cache.read("ns", "s")) for _ in range(3)]
    await asyncio.sleep(0)
    store.gate.set()  # type: ignore[union-attr]
    results = await asyncio.gather(*readers, return_exceptions=True)
    assert all(isinstance(r, KubernetesUnavailable) for r in results)
    store.failure = None
    assert await cache.read("ns", "s") == ({"token": "t"}, False)


async def test_a_cancelled_reader_does_not_cancel_the_read_others_wait_for() -> None:
    store = Secrets({("ns", "s"): {"token": "t"}}, gate=asyncio.Event())
    cache = SecretCache(store.read_secret, ttl=5)
    quitter, stayer = asyncio.create_task(cache.read("ns", "s")), asyncio.create_task(cache.read("ns", "s"))
    await asyncio.sleep(0)
    quitter.cancel()
    store.gate.set()  # type: ignore[union-attr]
    assert await stayer == ({"token": "t"}, False)
    assert store.reads == 1


# ---------------------------------------------------------------- Calls: reused values never fail alone


class Adapter:
    """Accepts the Secret only when its token is ``good``; 401s a ``revoked`` one."""

    def credentials(self, data: dict[str, str]) -> str:
        if "token" not in data:
            raise CredentialsMissing("the Secret has no key token")
        return data["token"]

    async def call(self, token: str) -> str:
        if token != "good":
            raise CredentialsInvalid("HTTP 401: bad token")
        return "done"


REQUEST = samples.request()
SECRET = (REQUEST.namespace, REQUEST.spec.credentials_secret_ref.name)
"""The Secret the sample request names."""


def _job() -> Job:
    return samples.job(adapter=Adapter())


def _steps(store: Secrets) -> Calls:
    return samples.calls(store, timing=Timing(secret_cache=60))


@pytest.mark.parametrize("stale", [{"token": "revoked"}, {"wrong-key": "good"}])
async def test_a_rotated_secret_is_read_again_before_a_reused_value_fails_the_call(
    stale: dict[str, str],
) -> None:
    store = Secrets({SECRET: stale})
    steps, job = _steps(store), _job()
    with pytest.raises((CredentialsInvalid, CredentialsMissing)):
        await steps.authorized(job, job.adapter.call)  # type: ignore[attr-defined]
    store.values[SECRET] = {"token": "good"}  # fixed; the failed value is not kept
    assert await steps.authorized(job, job.adapter.call) == "done"  # type: ignore[attr-defined]


async def test_a_401_with_a_reused_value_is_retried_once_with_a_fresh_read() -> None:
    store = Secrets({SECRET: {"token": "good"}})
    steps, job = _steps(store), _job()
    assert await steps.authorized(job, job.adapter.call) == "done"  # type: ignore[attr-defined]
    calls: list[str] = []

    async def rejects_once(token: str) -> str:
        calls.append(token)
        if len(calls) == 1:  # the reused value was rotated away a moment ago
            raise CredentialsInvalid("HTTP 401: rotated")
        return "done"

    assert await steps.authorized(job, rejects_once) == "done"
    assert store.reads == 2  # the retry read the Secret again


async def test_a_401_with_a_fresh_value_fails_at_once() -> None:
    store = Secrets({SECRET: {"token": "revoked"}})
    steps, job = _steps(store), _job()
    with pytest.raises(CredentialsInvalid):
        await steps.authorized(job, job.adapter.call)  # type: ignore[attr-defined]
    assert store.reads == 1
