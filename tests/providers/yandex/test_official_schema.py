"""The sandbox's JSON parses into Yandex's official protobuf messages, unknown fields rejected.

The ``yandexcloud`` package ships the generated modules of the public cloudapi protos; importing
them registers the message types, so ``Any`` members (``@type``) resolve too. A field the sandbox
invents or misspells, an enum value Yandex does not define, or a wrongly typed value fails these
tests; so does a request body of the adapter that the official request message would not accept.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from google.protobuf import json_format
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2
from yandex.cloud.iam.v1 import iam_token_service_pb2
from yandex.cloud.operation import operation_pb2
from yandex.cloud.serverless.containers.v1 import container_pb2, container_service_pb2

from rollback_operator.models import YandexServerlessContainerProvider
from rollback_operator.providers.base import Credentials
from rollback_operator.providers.yandex.auth import parse_service_account_key, sign_jwt
from rollback_sandbox.common import SandboxServer
from rollback_sandbox.yandex import YandexState
from tests.providers.yandex.conftest import MakeAdapter
from tests.providers.yandex.scenario import FAILING, LIVE, PREVIOUS, PROD, TOKEN, new_key, resolution_for, rev

AUTH = {"Authorization": f"Bearer {TOKEN}"}
assert error_details_pb2.RequestInfo  # imported for its registration of google.rpc.RequestInfo


@pytest.fixture
async def http(server: SandboxServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, headers=AUTH, timeout=5.0) as client:
        yield client


def parse(body: Any, message: type[Message]) -> Any:
    """Strict proto3 JSON parsing: unknown fields are errors."""
    return json_format.Parse(json.dumps(body), message(), ignore_unknown_fields=False)


async def _rollback(http: httpx.AsyncClient, container: str, revision: str) -> dict[str, Any]:
    answer = await http.post(f"/containers/v1/containers/{container}:rollback", json={"revisionId": revision})
    return dict(answer.json())


async def test_a_revision_is_an_official_revision(http: httpx.AsyncClient) -> None:
    revision = parse((await http.get(f"/containers/v1/revisions/{LIVE}")).json(), container_pb2.Revision)

    assert revision.status == container_pb2.Revision.ACTIVE
    assert revision.resources.memory == 134217728
    assert revision.created_at.nanos == 500000005
    assert revision.runtime.WhichOneof("type") == "http"


async def test_a_revision_page_is_an_official_list_response(http: httpx.AsyncClient) -> None:
    body = (await http.get("/containers/v1/revisions", params={"containerId": PROD, "pageSize": 2})).json()

    page = parse(body, container_service_pb2.ListContainersRevisionsResponse)

    assert len(page.revisions) == 2
    assert page.next_page_token


async def test_a_container_is_an_official_container(http: httpx.AsyncClient) -> None:
    container = parse((await http.get(f"/containers/v1/containers/{PROD}")).json(), container_pb2.Container)

    assert (container.name, container.status) == ("api", container_pb2.Container.ACTIVE)


async def test_a_running_operation_is_official_with_its_metadata(
    http: httpx.AsyncClient, state: YandexState
) -> None:
    state.operation_seconds = 60

    operation = parse(await _rollback(http, PROD, PREVIOUS), operation_pb2.Operation)

    metadata = container_service_pb2.RollbackContainerMetadata()
    assert not operation.done
    assert operation.metadata.Unpack(metadata)
    assert (metadata.container_id, metadata.revision_id) == (PROD, PREVIOUS)


async def test_a_succeeded_operation_carries_an_official_container(http: httpx.AsyncClient) -> None:
    operation = parse(await _rollback(http, PROD, PREVIOUS), operation_pb2.Operation)

    container = container_pb2.Container()
    assert operation.done
    assert operation.WhichOneof("result") == "response"
    assert operation.response.Unpack(container)
    assert container.id == PROD


async def test_a_failed_operation_carries_an_official_status(http: httpx.AsyncClient) -> None:
    operation = parse(await _rollback(http, FAILING, rev("f", 2)), operation_pb2.Operation)

    assert operation.done
    assert operation.WhichOneof("result") == "error"
    assert operation.error.code == 9


async def test_an_error_body_is_an_official_status_with_request_info(http: httpx.AsyncClient) -> None:
    status = parse((await http.get("/operations/d4enope")).json(), status_pb2.Status)

    info = error_details_pb2.RequestInfo()
    assert status.code == 5
    assert status.details[0].Unpack(info)
    assert info.request_id


async def test_the_token_exchange_speaks_the_official_messages(
    http: httpx.AsyncClient, sa_secret: str
) -> None:
    request = {"jwt": sign_jwt(parse_service_account_key(sa_secret), now=int(time.time()))}
    parse(request, iam_token_service_pb2.CreateIamTokenRequest)
    answer = await http.post("/iam/v1/tokens", json=request)

    response = parse(answer.json(), iam_token_service_pb2.CreateIamTokenResponse)

    assert response.iam_token.startswith("t1.")
    assert response.expires_at.seconds > 0


async def test_the_adapters_rollback_body_is_an_official_request(make_adapter: MakeAdapter) -> None:
    sent: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"id": "d4eop", "done": False})

    adapter = make_adapter(transport=httpx.MockTransport(record))
    spec = YandexServerlessContainerProvider(container_id=PROD)
    await adapter.trigger(spec, Credentials({"iamToken": TOKEN}), resolution_for(PREVIOUS), new_key())

    request = parse(json.loads(sent[0].content), container_service_pb2.RollbackContainerRequest)
    assert request.revision_id == PREVIOUS
    assert sent[0].url.path == f"/containers/v1/containers/{PROD}:rollback"


async def test_an_invented_field_would_be_caught(http: httpx.AsyncClient) -> None:
    body = (await http.get(f"/containers/v1/revisions/{LIVE}")).json()

    with pytest.raises(json_format.ParseError, match="currentRevision"):
        parse({**body, "currentRevision": LIVE}, container_pb2.Revision)
