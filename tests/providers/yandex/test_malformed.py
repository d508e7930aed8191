"""Answers Yandex should never give, replayed from recorded shapes: typed errors, never a crash.

These use ``httpx.MockTransport`` because the sandbox only ever answers well (its malformed-body
fault is covered in test_faults.py); each handler returns one recorded or mangled response.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from rollback_operator.errors import (
    CredentialsInvalid,
    MalformedResponse,
    OutcomeUnknown,
    ProviderRejected,
    ProviderUnavailable,
)
from rollback_operator.models import Target, YandexServerlessContainerProvider
from rollback_operator.providers.base import Credentials, Handle
from rollback_operator.providers.yandex import YandexAdapter
from rollback_operator.status_models import OperationState
from tests.providers.yandex.conftest import MakeAdapter
from tests.providers.yandex.scenario import PREVIOUS, TOKEN, new_key, resolution_for

SPEC = YandexServerlessContainerProvider(container_id="bbarecorded000000001")
CREDS = Credentials({"iamToken": TOKEN})
HTML = "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"
Responder = Callable[[httpx.Request], httpx.Response]


def _json(body: Any, status: int = 200) -> Responder:
    return lambda request: httpx.Response(status, json=body)


def _text(text: str, status: int = 200, content_type: str = "text/html") -> Responder:
    return lambda request: httpx.Response(status, text=text, headers={"content-type": content_type})


@pytest.fixture
def replaying(make_adapter: MakeAdapter) -> Callable[[Responder], YandexAdapter]:
    return lambda responder: make_adapter(transport=httpx.MockTransport(responder))


async def test_an_html_page_with_200_is_a_malformed_response_naming_what_was_expected(
    replaying: Callable[[Responder], YandexAdapter],
) -> None:
    with pytest.raises(
        MalformedResponse, match=r"list revisions: expected JSON, got text/html \(\d+ bytes\)"
    ):
        await replaying(_text(HTML)).resolve(SPEC, CREDS, Target(steps_back=1))


async def test_an_html_gateway_error_is_retried_then_unavailable_with_its_text(
    replaying: Callable[[Responder], YandexAdapter],
) -> None:
    with pytest.raises(ProviderUnavailable, match="HTTP 502: <html><head><title>502 Bad Gateway"):
        await replaying(_text(HTML, status=502)).resolve(SPEC, CREDS, Target(steps_back=1))


async def test_truncated_json_is_a_malformed_response(
    replaying: Callable[[Responder], YandexAdapter],
) -> None:
    adapter = replaying(_text('{"revisions": [{"id": "bbarev', content_type="application/json"))

    with pytest.raises(MalformedResponse, match="list revisions: expected JSON, got application/json"):
        await adapter.resolve(SPEC, CREDS, Target(steps_back=1))


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"revisions": [{"status": "ACTIVE"}]}, "revisions.0.id: Field required"),
        ({"revisions": {"id": "x"}}, "revisions: Input should be a valid list"),
        (
            {"revisions": [{"id": "x", "createdAt": "yesterday"}]},
            "revisions.0.createdAt: Input should be a valid",
        ),
        (["not", "an", "object"], "body: Input should be a valid dictionary"),
    ],
    ids=["no-id", "not-a-list", "bad-timestamp", "not-an-object"],
)
async def test_a_revision_page_of_the_wrong_shape_says_which_field(
    replaying: Callable[[Responder], YandexAdapter], body: Any, problem: str
) -> None:
    with pytest.raises(MalformedResponse, match=f"list revisions: unexpected response shape \\({problem}"):
        await replaying(_json(body)).resolve(SPEC, CREDS, Target(steps_back=1))


async def test_missing_optional_fields_default_and_a_missing_page_token_ends_paging(
    replaying: Callable[[Responder], YandexAdapter],
) -> None:
    body = {"revisions": [{"id": "r-live", "status": "ACTIVE"}, {"id": "r-old", "status": "OBSOLETE"}]}

    resolution = await replaying(_json(body)).resolve(SPEC, CREDS, Target(steps_back=1))

    assert (resolution.current, resolution.target) == ("r-live", "r-old")
    assert "no image, OBSOLETE" in resolution.explanation


async def test_a_rollback_answer_without_an_operation_id_is_an_unknown_outcome(
    replaying: Callable[[Responder], YandexAdapter],
) -> None:
    adapter = replaying(_json({"done": False, "metadata": {"revisionId": PREVIOUS}}))

    with pytest.raises(OutcomeUnknown, match=r"rollback: unexpected response shape \(id: Field required\)"):
        await adapter.trigger(SPEC, CREDS, resolution_for(PREVIOUS), new_key())


async def test_an_operation_without_done_is_still_running(
    replaying: Callable[[Responder], YandexAdapter],
) -> None:
    progress = await replaying(_json({"id": "d4eop"})).poll(SPEC, CREDS, Handle("d4eop"))

    assert progress.state == OperationState.RUNNING


async def test_an_operation_with_a_nonsense_done_is_a_malformed_response(
    replaying: Callable[[Responder], YandexAdapter],
) -> None:
    with pytest.raises(MalformedResponse, match="get operation: unexpected response shape \\(done: "):
        await replaying(_json({"id": "d4eop", "done": "perhaps"})).poll(SPEC, CREDS, Handle("d4eop"))


async def test_an_operation_error_with_an_unknown_code_keeps_the_number(
    replaying: Callable[[Responder], YandexAdapter],
) -> None:
    body = {"id": "d4eop", "done": True, "error": {"code": 42, "message": "new kind of failure"}}

    progress = await replaying(_json(body)).poll(SPEC, CREDS, Handle("d4eop"))

    assert (progress.state, progress.message) == (OperationState.FAILED, "CODE_42: new kind of failure")


async def test_a_plain_text_4xx_is_rejected_with_its_text(
    replaying: Callable[[Responder], YandexAdapter],
) -> None:
    adapter = replaying(_text("upstream says no", status=400, content_type="text/plain"))

    with pytest.raises(ProviderRejected, match="HTTP 400: upstream says no"):
        await adapter.resolve(SPEC, CREDS, Target(steps_back=1))


async def test_a_403_is_invalid_credentials_with_yandexs_words(
    replaying: Callable[[Responder], YandexAdapter],
) -> None:
    denied = {"code": 7, "message": "Permission denied", "details": [{"requestId": "5e1f"}]}

    with pytest.raises(
        CredentialsInvalid, match=r"HTTP 403: PERMISSION_DENIED: Permission denied \(requestId 5e1f\)"
    ):
        await replaying(_json(denied, status=403)).resolve(SPEC, CREDS, Target(steps_back=1))


async def test_a_token_answer_without_expiry_is_malformed_and_does_not_show_the_token(
    replaying: Callable[[Responder], YandexAdapter], sa_secret: str
) -> None:
    adapter = replaying(_json({"iamToken": "t1.leaky-token-value"}))
    creds = adapter.credentials({"serviceAccountKey": sa_secret})

    with pytest.raises(
        MalformedResponse, match=r"create IAM token: unexpected response shape \(expiresAt"
    ) as caught:
        await adapter.resolve(SPEC, creds, Target(steps_back=1))
    assert "leaky" not in str(caught.value)


async def test_a_400_from_the_token_exchange_is_a_key_problem(
    replaying: Callable[[Responder], YandexAdapter], sa_secret: str
) -> None:
    adapter = replaying(_json({"code": 3, "message": "JWT is malformed"}, status=400))
    creds = adapter.credentials({"serviceAccountKey": sa_secret})

    with pytest.raises(
        CredentialsInvalid, match=r"rejected the service-account key: .*INVALID_ARGUMENT: JWT is malformed"
    ):
        await adapter.resolve(SPEC, creds, Target(steps_back=1))
