"""Fixtures of the Facets tests: a seeded sandbox on loopback (in the test's event loop) and
adapters pointed at it with a fast retry policy; every adapter made here is closed afterwards."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from rollback_operator.models import FacetsProvider
from rollback_operator.providers.base import Credentials
from rollback_operator.providers.facets import FacetsAdapter
from rollback_sandbox.common import SandboxServer
from rollback_sandbox.facets import FacetsState, create_app
from tests.providers.facets.support import FAST, SECRET_DATA, seed_document, spec_for

MakeAdapter = Callable[..., FacetsAdapter]


@pytest.fixture
def state() -> FacetsState:
    sandbox_state = FacetsState()
    sandbox_state.seed(seed_document())
    return sandbox_state


@pytest.fixture
async def sandbox(state: FacetsState) -> AsyncIterator[SandboxServer]:
    server = SandboxServer(create_app(state))
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def spec(sandbox: SandboxServer) -> FacetsProvider:
    return spec_for(sandbox.url)


@pytest.fixture
async def make_adapter() -> AsyncIterator[MakeAdapter]:
    made: list[FacetsAdapter] = []

    def make(**options: Any) -> FacetsAdapter:
        options.setdefault("retry", FAST)
        options.setdefault("timeout", httpx.Timeout(2.0))
        made.append(FacetsAdapter(**options))
        return made[-1]

    yield make
    for adapter in made:
        await adapter.aclose()


@pytest.fixture
def adapter(make_adapter: MakeAdapter) -> FacetsAdapter:
    return make_adapter(page_size=4)


@pytest.fixture
def creds(adapter: FacetsAdapter) -> Credentials:
    return adapter.credentials(SECRET_DATA)
