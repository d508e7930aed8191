"""Reading what Vector may send: recorded bodies in each documented variant, and broken ones.

These tests serve fixed bodies through ``httpx.MockTransport``: the sandbox always answers well, while
Vector's docs show placeholders (``links: {}``), PHP's ``[]`` for empty maps, and error pages.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from rollback_operator.errors import MalformedResponse, ProviderRejected, ProviderUnavailable
from rollback_operator.models import Target, VectorProvider
from rollback_operator.providers.base import Credentials, Handle
from rollback_operator.providers.vector import VectorAdapter, describe
from rollback_operator.status_models import OperationState
from tests.providers.vector.scenario import FAST, KEY, PROD, TOKEN, dep, resolution

API = "https://api.builtfast.com"
SPEC = VectorProvider(environment_id=PROD)
CREDS = Credentials({"token": TOKEN})
Responder = Callable[[httpx.Request], httpx.Response]


def deployment(n: int, status: str = "deployed", **extra: Any) -> dict[str, Any]:
    return {"id": dep("p", n), "status": status, "created_at": f"2026-05-{n:02d}T10:00:00Z", **extra}


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Responder], VectorAdapter]]:
    adapters: list[VectorAdapter] = []

    def make(responder: Responder) -> VectorAdapter:
        adapters.append(VectorAdapter(retry=FAST, transport=httpx.MockTransport(responder), page_size=2))
        return adapters[-1]

    yield make
    for adapter in adapters:
        await adapter.aclose()


def pages(*bodies: dict[str, Any]) -> Responder:
    """Answer page N of the deployment list with ``bodies[N-1]``."""

    def respond(request: httpx.Request) -> httpx.Response:
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
        assert request.headers["Accept"] == "application/json"
        assert request.url.params["per_page"] == "2"
        return httpx.Response(200, json=bodies[int(request.url.params["page"]) - 1])

    return respond


async def test_pages_follow_links_next_when_meta_has_no_last_page(
    serve: Callable[[Responder], VectorAdapter],
) -> None:
    adapter = serve(
        pages(
            {
                "data": [deployment(9), deployment(8, "failed")],
                "links": {"next": "elsewhere?page=2"},
                "meta": {},
            },
            {"data": [deployment(7), deployment(6)], "links": {"next": None}, "meta": []},
        )
    )

    resolved = await adapter.resolve(SPEC, CREDS, Target(steps_back=2))

    assert (resolved.current, resolved.target, resolved.watermark) == (dep("p", 9), dep("p", 6), dep("p", 9))


async def test_without_links_or_meta_a_full_page_means_there_may_be_more(
    serve: Callable[[Responder], VectorAdapter],
) -> None:
    adapter = serve(
        pages(
            {"data": [deployment(9), deployment(8)], "links": [], "meta": []},
            {"data": [deployment(7)], "links": [], "meta": []},
        )
    )

    resolved = await adapter.resolve(SPEC, CREDS, Target(steps_back=2))

    assert resolved.target == dep("p", 7)


async def test_a_deployment_repeated_across_pages_counts_once(
    serve: Callable[[Responder], VectorAdapter],
) -> None:
    # A deployment made between the two requests pushes p8 onto page 2 as well.
    adapter = serve(
        pages(
            {"data": [deployment(9), deployment(8)], "meta": {"last_page": 2}},
            {"data": [deployment(8), deployment(7)], "meta": {"last_page": 2}},
        )
    )

    resolved = await adapter.resolve(SPEC, CREDS, Target(steps_back=2))

    assert [v.id for v in resolved.candidates] == [dep("p", 8), dep("p", 7)]


async def test_the_prose_docs_rollback_answer_is_read_without_target_deployment_id(
    serve: Callable[[Responder], VectorAdapter],
) -> None:
    body = {"data": {"id": dep("r", 1), "environment_id": PROD, "status": "pending"}, "message": "ok"}
    adapter = serve(lambda request: httpx.Response(202, json=body))

    handle = await adapter.trigger(SPEC, CREDS, resolution(dep("p", 4)), KEY)

    assert handle.id == dep("r", 1)
    assert handle.message.startswith(f"rollback of {PROD} to {dep('p', 4)}")


async def test_a_failure_without_stderr_reports_the_status_label(
    serve: Callable[[Responder], VectorAdapter],
) -> None:
    body = {"data": {"id": dep("r", 1), "status": "failed", "status_label": "Failed", "stderr": None}}
    adapter = serve(lambda request: httpx.Response(200, json=body))

    progress = await adapter.poll(SPEC, CREDS, Handle(dep("r", 1)))

    assert (progress.state, progress.message) == (OperationState.FAILED, "Failed")


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (
            httpx.Response(200, html="<html><body>Welcome to nginx</body></html>"),
            "vector list_deployments: expected JSON, got text/html",
        ),
        (httpx.Response(200, text='{"data": [{"id": "01j'), "expected JSON"),
        (
            httpx.Response(200, json={"data": [{"status": "deployed"}]}),
            r"expected \{\"data\": \[deployment, ...\]\}.* \(data.0.id: Field required",
        ),
        (httpx.Response(200, json={"data": {"id": "x"}}), "data: Input should be a valid list"),
        (httpx.Response(200, json=[]), "body: Input should be a valid dictionary"),
    ],
    ids=["html-page", "truncated-json", "missing-id", "data-not-a-list", "not-an-envelope"],
)
async def test_an_unreadable_list_is_a_malformed_response_that_says_what_was_expected(
    serve: Callable[[Responder], VectorAdapter], response: httpx.Response, expected: str
) -> None:
    adapter = serve(lambda request: response)

    with pytest.raises(MalformedResponse, match=expected):
        await adapter.resolve(SPEC, CREDS, Target(steps_back=1))


async def test_a_deployment_without_status_is_a_malformed_response(
    serve: Callable[[Responder], VectorAdapter],
) -> None:
    adapter = serve(lambda request: httpx.Response(200, json={"data": {"id": dep("r", 1)}}))

    with pytest.raises(MalformedResponse, match=r"vector get_deployment: .*data.status: Field required"):
        await adapter.poll(SPEC, CREDS, Handle(dep("r", 1)))


async def test_an_html_gateway_error_is_retried_then_reported_with_the_start_of_the_page(
    serve: Callable[[Responder], VectorAdapter],
) -> None:
    adapter = serve(lambda request: httpx.Response(502, html="<html>502 Bad Gateway</html>"))

    with pytest.raises(ProviderUnavailable, match="HTTP 502: <html>502 Bad Gateway</html>"):
        await adapter.poll(SPEC, CREDS, Handle(dep("r", 1)))


async def test_the_short_422_of_the_api_landing_page_is_described_by_its_errors(
    serve: Callable[[Responder], VectorAdapter],
) -> None:
    body = {
        "errors": {"target_deployment_id": ["Bad."], "status": "Inactive."},
        "message": "Validation failed",
    }
    adapter = serve(lambda request: httpx.Response(422, json=body))

    with pytest.raises(ProviderRejected, match=r"HTTP 422: target_deployment_id: Bad\.; status: Inactive\.$"):
        await adapter.trigger(SPEC, CREDS, resolution(dep("p", 4)), KEY)


DESCRIBED = {
    "errors-map-first": (
        '{"data": {}, "errors": {"per_page": ["Maximum items per page is 100."]}, "message": "Invalid"}',
        "per_page: Maximum items per page is 100.",
    ),
    "then-the-message": ('{"data": {}, "errors": {}, "message": "Unauthenticated"}', "Unauthenticated"),
    "then-the-body": (
        '{"data": {}, "message": " ", "http_status": 500}',
        '{"data": {}, "message": " ", "http_status": 500}',
    ),
    "a-body-that-is-no-object": ('["not", "an", "object"]', '["not", "an", "object"]'),
    "an-empty-body": ("", "Unprocessable Entity"),
}


@pytest.mark.parametrize(("raw", "text"), DESCRIBED.values(), ids=DESCRIBED.keys())
def test_describe_prefers_the_errors_map_then_the_message_then_the_body(raw: str, text: str) -> None:
    assert describe(httpx.Response(422, text=raw)) == text
