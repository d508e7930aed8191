"""Facets errors: credentials, the provider's error shapes, unreadable answers, and no leaked secret.

Auth goes against the sandbox; odd bodies the sandbox never sends (proxy pages, missing fields)
come from ``httpx.MockTransport`` handlers.
"""

from __future__ import annotations

import base64
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest

from rollback_operator.errors import (
    CredentialsInvalid,
    CredentialsMissing,
    MalformedResponse,
    OutcomeUnknown,
    ProviderRejected,
    ProviderUnavailable,
    RollbackError,
)
from rollback_operator.models import FacetsProvider, Target
from rollback_operator.providers.base import Credentials, Handle, Resolution
from rollback_operator.providers.facets import FacetsAdapter, describe
from rollback_operator.status_models import OperationState
from rollback_sandbox.facets import FacetsState
from tests.providers.facets.conftest import MakeAdapter
from tests.providers.facets.support import (
    SECRET_DATA,
    TOKEN,
    USERNAME,
    json_response,
    spec_for,
    version_id,
)

MOCK_SPEC = spec_for("https://acme.console.facets.cloud")
VERSION = {"id": version_id(1), "entity": {"tag": "1.1.0"}, "archiveDate": "2026-11-20T10:00:00.000Z"}
Route = Callable[[httpx.Request], httpx.Response]


def provider(
    artifact: Route | None = None,
    history: Route | None = None,
    listing: Route | None = None,
    restore: Route | None = None,
) -> httpx.MockTransport:
    """A fake control plane: healthy answers unless a route is replaced."""
    routes = {
        "/artifacts/": artifact or (lambda _: json_response(200, {"versioningKey": "k1"})),
        "/resource-history": history
        or (lambda _: json_response(200, {"artifactVersion": {"liveVersionId": version_id(2)}})),
        "/restore": restore or (lambda _: json_response(200, {})),
        "/versions/": listing or (lambda _: json_response(200, [{**VERSION, "id": version_id(2)}, VERSION])),
    }

    def handle(request: httpx.Request) -> httpx.Response:
        return next(route(request) for part, route in routes.items() if part in request.url.path)

    return httpx.MockTransport(handle)


def html(status: int, title: str) -> Route:
    page = f"<html><head><title>{title}</title></head><body><h1>{title}</h1></body></html>"
    return lambda _: httpx.Response(status, text=page, headers={"content-type": "text/html"})


# ------------------------------------------------------------------------------ credentials


def test_credentials_keep_only_the_username_and_token(adapter: FacetsAdapter) -> None:
    creds = adapter.credentials({**SECRET_DATA, "unrelated": "value"})

    assert dict(creds.values) == SECRET_DATA
    assert TOKEN not in repr(creds)


@pytest.mark.parametrize(
    ("data", "named"), [({"username": USERNAME}, "token"), ({"token": TOKEN, "username": ""}, "username")]
)
def test_a_missing_or_empty_key_is_credentials_missing_naming_the_key(
    adapter: FacetsAdapter, data: dict[str, str], named: str
) -> None:
    with pytest.raises(CredentialsMissing, match=f"lacks the key\\(s\\) {named} ") as caught:
        adapter.credentials(data)
    assert TOKEN not in str(caught.value)


def test_a_username_with_a_colon_cannot_be_sent_as_basic_auth(adapter: FacetsAdapter) -> None:
    with pytest.raises(CredentialsInvalid, match="must not contain ':'"):
        adapter.credentials({"username": "ops:acme", "token": TOKEN})


async def test_a_wrong_token_is_credentials_invalid_with_the_providers_text_and_no_secret(
    adapter: FacetsAdapter, spec: FacetsProvider, state: FacetsState
) -> None:
    wrong = adapter.credentials({"username": USERNAME, "token": "fpt_wrong_token_5678"})

    with pytest.raises(CredentialsInvalid, match="get_artifact: HTTP 401: Unauthorized") as caught:
        await adapter.resolve(spec, wrong, Target(steps_back=1))
    assert "fpt_wrong_token_5678" not in str(caught.value)
    assert sum(state.requests.values()) == 1  # never retried


def test_the_target_key_names_the_control_plane_host_and_the_resource(adapter: FacetsAdapter) -> None:
    spec = spec_for("https://Acme.console.facets.cloud/")

    assert adapter.target_key(spec) == "facets:acme.console.facets.cloud/6523f0c2e4b0a1f2c3d4e5f6/service/api"
    assert adapter.endpoints(spec) == ["https://Acme.console.facets.cloud/"]


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://acme.console.facets.cloud:443/", "acme.console.facets.cloud"),
        ("https://ACME.console.facets.cloud./cc-ui", "acme.console.facets.cloud"),
        ("https://acme.console.facets.cloud:8443", "acme.console.facets.cloud:8443"),
        ("http://127.0.0.1:80", "127.0.0.1"),
    ],
)
def test_every_spelling_of_one_control_plane_shares_one_target_key(
    adapter: FacetsAdapter, url: str, host: str
) -> None:
    """Else two requests for one resource, written differently, could roll it back at once."""
    assert adapter.target_key(spec_for(url)) == f"facets:{host}/6523f0c2e4b0a1f2c3d4e5f6/service/api"


# --------------------------------------------------------------------------- error bodies


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (
            json_response(404, {"code": "NOT_FOUND", "message": "Artifact not found"}),
            "Artifact not found (code NOT_FOUND)",
        ),
        (json_response(400, {"code": "", "message": "perPage must be positive"}), "perPage must be positive"),
        (json_response(403, "Access is denied"), "Access is denied"),
        (httpx.Response(401, text="Unauthorized", headers={"content-type": "text/plain"}), "Unauthorized"),
        (
            json_response(
                401,
                {
                    "timestamp": "2026-11-22T10:00:00Z",
                    "status": 401,
                    "error": "Unauthorized",
                    "path": "/cc-ui/v1/versions/x",
                },
            ),
            "Unauthorized",
        ),
        (httpx.Response(404), "Not Found"),
        (html(502, "502 Bad Gateway")(httpx.Request("GET", "https://x")), "an HTML page (502 Bad Gateway)"),
        (json_response(400, {}), "{}"),
    ],
    ids=[
        "error-details",
        "empty-code",
        "json-string",
        "text-plain",
        "spring-default",
        "empty",
        "html",
        "empty-json",
    ],
)
def test_describe_reads_each_error_shape_of_the_provider(response: httpx.Response, expected: str) -> None:
    assert describe(response) == expected


async def test_a_proxy_html_page_on_a_read_is_retried_then_unavailable_with_its_title(
    make_adapter: MakeAdapter, creds: Credentials
) -> None:
    adapter = make_adapter(transport=provider(artifact=html(502, "502 Bad Gateway")))

    with pytest.raises(ProviderUnavailable, match=r"HTTP 502: an HTML page \(502 Bad Gateway\)"):
        await adapter.resolve(MOCK_SPEC, creds, Target(steps_back=1))


# ----------------------------------------------------------------------- unreadable bodies


@pytest.mark.parametrize(
    ("transport", "message"),
    [
        (provider(artifact=html(200, "Sign in")), "facets artifact: expected JSON, got text/html"),
        (provider(artifact=lambda _: httpx.Response(200, text='{"versioningKey": "k')), "expected JSON"),
        (
            provider(artifact=lambda _: json_response(200, {"id": "a1"})),
            "expected an Artifact with versioningKey (versioningKey: Field required)",
        ),
        (
            provider(listing=lambda _: json_response(200, {"content": []})),
            "facets versions: expected a list of versions",
        ),
        (provider(listing=lambda _: json_response(200, [{"entity": {}}])), "(0.id: Field required)"),
        (
            provider(history=lambda _: json_response(200, {"artifactVersion": "live"})),
            "facets resource history: expected a ResourceHistory (artifactVersion",
        ),
    ],
    ids=[
        "html-page",
        "truncated-json",
        "no-versioning-key",
        "page-object",
        "version-without-id",
        "bad-history",
    ],
)
async def test_an_answer_that_does_not_fit_is_a_malformed_response_with_a_clear_message(
    make_adapter: MakeAdapter, creds: Credentials, transport: httpx.MockTransport, message: str
) -> None:
    adapter = make_adapter(transport=transport)

    with pytest.raises(MalformedResponse) as caught:
        await adapter.resolve(MOCK_SPEC, creds, Target(steps_back=1))
    assert message in str(caught.value)


async def test_unknown_fields_and_odd_values_are_tolerated(
    make_adapter: MakeAdapter, creds: Credentials
) -> None:
    history = {
        "resourceStatus": "DEGRADED",
        "someNewField": [1],
        "artifactVersion": {"liveVersionId": version_id(2), "previewVersionId": None, "x": {}},
    }
    odd = {
        "id": version_id(1),
        "entity": {"tag": None, "externalId": 7},
        "archiveDate": "yesterday",
        "new": 1,
    }
    epoch_millis = {"id": version_id(0), "entity": {"tag": "1.0.0"}, "archiveDate": 1763805600000}
    adapter = make_adapter(
        transport=provider(
            history=lambda _: json_response(200, history),
            listing=lambda _: json_response(200, [{"id": version_id(2)}, odd, epoch_millis]),
        )
    )

    resolution = await adapter.resolve(MOCK_SPEC, creds, Target(steps_back=1))
    progress = await adapter.poll(MOCK_SPEC, creds, Handle(id=version_id(2)))

    assert resolution.target == version_id(1)
    assert resolution.candidates[0].created_at is None
    assert resolution.candidates[1].created_at == datetime(2025, 11, 22, 10, 0, tzinfo=UTC)
    assert resolution.candidates[1].label == "1.0.0, archived 2025-11-22 10:00"
    assert progress.state is OperationState.SUCCEEDED


async def test_a_version_repeated_on_the_next_page_is_counted_once(
    make_adapter: MakeAdapter, creds: Credentials
) -> None:
    pages = {"0": [version_id(4), version_id(3)], "1": [version_id(3), version_id(2)], "2": [version_id(1)]}

    def listing(request: httpx.Request) -> httpx.Response:
        return json_response(200, [{"id": i} for i in pages[request.url.params["page"]]])

    def history(_: httpx.Request) -> httpx.Response:
        return json_response(200, {"artifactVersion": {"liveVersionId": version_id(4)}})

    adapter = make_adapter(page_size=2, transport=provider(history=history, listing=listing))

    resolution = await adapter.resolve(MOCK_SPEC, creds, Target(steps_back=3))

    assert [v.id for v in resolution.candidates] == [version_id(3), version_id(2), version_id(1)]


@pytest.mark.parametrize(
    "restore",
    [html(200, "Sign in"), lambda _: httpx.Response(200, text="[1, 2"), lambda _: json_response(200, [])],
    ids=["html", "truncated", "array"],
)
async def test_a_restore_answered_with_an_unreadable_body_is_outcome_unknown(
    make_adapter: MakeAdapter, creds: Credentials, restore: Route
) -> None:
    adapter = make_adapter(transport=provider(restore=restore))
    resolution = Resolution(version_id(2), version_id(1), "stepsBack=1")

    with pytest.raises(OutcomeUnknown, match="not a JSON object; the restore may or may not have happened"):
        await adapter.trigger(MOCK_SPEC, creds, resolution, str(uuid.uuid4()))


async def test_a_restore_answered_with_an_empty_body_succeeded(
    make_adapter: MakeAdapter, creds: Credentials
) -> None:
    adapter = make_adapter(transport=provider(restore=lambda _: httpx.Response(200)))

    handle = await adapter.trigger(MOCK_SPEC, creds, Resolution(version_id(2), version_id(1), ""), "k")

    assert handle.id == version_id(1)


# ----------------------------------------------------------------------------------- secrets


async def test_no_secret_appears_in_any_error_or_log_record(
    make_adapter: MakeAdapter, creds: Credentials, caplog: pytest.LogCaptureFixture
) -> None:
    """The provider echoes the Authorization header, the e-mail and the token in its errors."""

    def echo(request: httpx.Request) -> httpx.Response:
        auth = request.headers["authorization"]
        return json_response(400, {"code": "BAD", "message": f"bad {auth} for {USERNAME}/{TOKEN}"})

    caplog.set_level(logging.DEBUG)
    reading = make_adapter(transport=provider(artifact=echo))
    restoring = make_adapter(transport=provider(restore=echo))
    login_page = make_adapter(transport=provider(history=html(401, f"Login failed for {USERNAME}")))
    failures: list[RollbackError] = []
    for call in (
        lambda: reading.resolve(MOCK_SPEC, creds, Target(steps_back=1)),
        lambda: restoring.trigger(MOCK_SPEC, creds, Resolution(version_id(2), version_id(1), ""), "k"),
        lambda: login_page.poll(MOCK_SPEC, creds, Handle(id=version_id(1))),
    ):
        with pytest.raises(RollbackError) as caught:
            await call()
        failures.append(caught.value)

    encoded = base64.b64encode(f"{USERNAME}:{TOKEN}".encode()).decode()
    texts = [str(e) for e in failures] + [r.getMessage() for r in caplog.records]
    assert [type(e) for e in failures] == [ProviderRejected, ProviderRejected, CredentialsInvalid]
    assert "bad Basic *** for ***/*** (code BAD)" in texts[0]
    assert "Login failed for ***" in texts[2]
    for secret in (TOKEN, USERNAME, encoded):
        assert not [text for text in texts if secret in text]
