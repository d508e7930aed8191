"""Fixtures of the Yandex adapter ↔ sandbox contract tests.

A seeded Yandex sandbox (IAM, Serverless Containers and Operation routes on one port) runs on
loopback in the test's event loop; adapters talk to it over real HTTP with a fast retry policy,
and every adapter made here is closed afterwards. The RSA key of the test service account is made
once per session; its public half is in the seed, its authorized-key file is ``sa_secret``.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from rollback_operator.models import YandexServerlessContainerProvider
from rollback_operator.providers.base import Credentials
from rollback_operator.providers.yandex import YandexAdapter
from rollback_sandbox.common import SandboxServer
from rollback_sandbox.yandex import YandexState, create_app
from rollback_sandbox.yandex_iam import make_service_account_key
from tests.providers.yandex.scenario import FAST, PROD, SERVICE_ACCOUNT, TOKEN, seed_document

MakeAdapter = Callable[..., YandexAdapter]
SpecFor = Callable[[str], YandexServerlessContainerProvider]


@pytest.fixture(scope="session")
def sa_key() -> dict[str, Any]:
    """The test service account's key: the seed entry, with ``authorizedKey`` for the Secret."""
    return make_service_account_key(service_account_id=SERVICE_ACCOUNT)


@pytest.fixture(scope="session")
def stranger_key() -> dict[str, Any]:
    """A well-formed key the sandbox has never heard of."""
    return make_service_account_key(service_account_id=SERVICE_ACCOUNT)


@pytest.fixture
def sa_secret(sa_key: dict[str, Any]) -> str:
    """The ``serviceAccountKey`` Secret value: the file ``yc iam key create`` writes."""
    return json.dumps(sa_key["authorizedKey"], indent=2)


@pytest.fixture
def state(sa_key: dict[str, Any]) -> YandexState:
    sandbox_state = YandexState()
    sandbox_state.seed(seed_document(service_account_key=sa_key))
    return sandbox_state


@pytest.fixture
async def server(state: YandexState) -> AsyncIterator[SandboxServer]:
    server = SandboxServer(create_app(state))
    with warnings.catch_warnings():
        # sandbox/common.py passes shutdown_timeout to TCPSite, which aiohttp 3.14 deprecates.
        warnings.filterwarnings("ignore", "shutdown_timeout should be set", DeprecationWarning)
        await server.start()
    yield server
    await server.stop()


@pytest.fixture
def spec_for(server: SandboxServer) -> SpecFor:
    """A provider block for a container, with all three base URLs on the sandbox."""
    return lambda container: YandexServerlessContainerProvider(
        container_id=container, api_url=server.url, operations_url=server.url, iam_url=server.url
    )


@pytest.fixture
def spec(spec_for: SpecFor) -> YandexServerlessContainerProvider:
    return spec_for(PROD)


@pytest.fixture
async def make_adapter() -> AsyncIterator[MakeAdapter]:
    made: list[YandexAdapter] = []

    def make(**options: Any) -> YandexAdapter:
        options.setdefault("retry", FAST)
        options.setdefault("timeout", httpx.Timeout(5.0))
        made.append(YandexAdapter(**options))
        return made[-1]

    yield make
    for adapter in made:
        await adapter.aclose()


@pytest.fixture
def adapter(make_adapter: MakeAdapter) -> YandexAdapter:
    return make_adapter()


@pytest.fixture
def creds(adapter: YandexAdapter) -> Credentials:
    """A static IAM token, as a Secret with ``iamToken`` gives it."""
    return adapter.credentials({"iamToken": TOKEN})


@pytest.fixture
def sa_creds(adapter: YandexAdapter, sa_secret: str) -> Credentials:
    """The service-account key, as a Secret with ``serviceAccountKey`` gives it."""
    return adapter.credentials({"serviceAccountKey": sa_secret})
