"""Fixtures of the Vector adapter ↔ sandbox contract tests.

A seeded Vector sandbox runs on loopback in the test's event loop with a clock the test moves;
the adapter talks to it over real HTTP with a fast retry policy. The seed (scenario.py) gives every
situation its own environment, so each test reads as "in this environment, this happens".
"""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from rollback_operator.models import VectorProvider
from rollback_operator.providers.base import Credentials
from rollback_operator.providers.vector import VectorAdapter
from rollback_sandbox.common import SandboxServer
from rollback_sandbox.vector import VectorState, create_app
from tests.providers.vector.scenario import FAST, PROD, TOKEN, Clock, seed


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def state(clock: Clock) -> VectorState:
    state = VectorState(clock=clock)
    state.seed(seed())
    return state


@pytest.fixture
async def server(state: VectorState) -> AsyncIterator[SandboxServer]:
    server = SandboxServer(create_app(state))
    with warnings.catch_warnings():
        # sandbox/common.py passes shutdown_timeout to TCPSite, which aiohttp 3.14 deprecates.
        warnings.filterwarnings("ignore", "shutdown_timeout should be set", DeprecationWarning)
        await server.start()
    yield server
    await server.stop()


@pytest.fixture
def spec_for(server: SandboxServer) -> Callable[[str], VectorProvider]:
    return lambda environment: VectorProvider(environment_id=environment, api_url=server.url)


@pytest.fixture
def spec(spec_for: Callable[[str], VectorProvider]) -> VectorProvider:
    return spec_for(PROD)


@pytest.fixture
def creds() -> Credentials:
    return Credentials({"token": TOKEN})


@pytest.fixture
async def make_adapter() -> AsyncIterator[Callable[..., VectorAdapter]]:
    made: list[VectorAdapter] = []

    def make(**options: Any) -> VectorAdapter:
        made.append(VectorAdapter(retry=options.pop("retry", FAST), **options))
        return made[-1]

    yield make
    for adapter in made:
        await adapter.aclose()


@pytest.fixture
def adapter(make_adapter: Callable[..., VectorAdapter]) -> VectorAdapter:
    return make_adapter(timeout=httpx.Timeout(5.0))
