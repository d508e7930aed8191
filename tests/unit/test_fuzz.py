"""A bounded, reproducible property-based pass over what reads hostile input.

The provider answer readers (the wire models of all three providers, their error-text functions,
the pagination and timestamp helpers behind them) and the URL / allow-list code are fed generated
input: arbitrary JSON and bytes, and JSON shaped like each answer with arbitrary values in it.
Properties: a reader either returns or raises one of the operator's own errors (never anything
else), an error message never carries a value from the body, and an allowed URL is sent exactly
as it was checked. ``derandomize=True`` makes every run draw the same examples.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rollback_operator.config import endpoint_allowed
from rollback_operator.errors import RollbackError
from rollback_operator.providers.facets import wire as facets
from rollback_operator.providers.vector import wire as vector
from rollback_operator.providers.yandex import wire as yandex
from rollback_operator.urls import UnsafeURL, parse

FUZZ = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
PLANTED = "s3cr3t-planted-value-9f8e"
"""A string planted among the generated values: no error message may repeat it."""

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.just(PLANTED),
    st.sampled_from(["", "deployed", "failed", "2026-11-20T10:00:00Z", "2026-13-45", "1.5e308", "-1"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)


def _shaped(keys: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """Objects with some of ``keys`` (the fields a reader looks at), each with any JSON value."""
    return st.dictionaries(st.sampled_from(keys), json_values, max_size=len(keys))


DEPLOYMENT_KEYS = ["id", "status", "status_label", "stderr", "actor", "created_at", "environment_id"]
VERSION_KEYS = ["id", "entity", "archiveDate"]
OPERATION_KEYS = ["id", "done", "description", "metadata", "error", "response"]
REVISION_KEYS = ["id", "createdAt", "status", "description", "image"]

bodies = st.one_of(
    json_values,
    _shaped(["data", "links", "meta", "message", "errors"]),
    st.fixed_dictionaries(
        {"data": st.lists(_shaped(DEPLOYMENT_KEYS), max_size=3)}, optional={"meta": json_values}
    ),
    st.fixed_dictionaries({"data": _shaped(DEPLOYMENT_KEYS)}),
    st.lists(_shaped(VERSION_KEYS), max_size=3),
    st.fixed_dictionaries({"artifactVersion": _shaped(["liveVersionId"]) | json_values}),
    _shaped(["versioningKey", "code", "message", "error"]),
    _shaped(OPERATION_KEYS),
    st.fixed_dictionaries({"revisions": st.lists(_shaped(REVISION_KEYS), max_size=3)}),
    _shaped(["code", "message", "details", "iamToken", "expiresAt"]),
)


def _response(body: Any, status: int = 200) -> httpx.Response:
    # json.dumps writes NaN and Infinity as a lenient server might; httpx's json= would refuse.
    request = httpx.Request("GET", "https://provider.example/x")
    headers = {"content-type": "application/json"}
    return httpx.Response(status, content=json.dumps(body).encode(), headers=headers, request=request)


READERS: dict[str, Callable[[httpx.Response], object]] = {
    "facets artifact": facets.read_artifact,
    "facets live version": facets.read_live_version,
    "facets versions": facets.read_versions,
    "facets restore answer": facets.check_restore_answer,
    "vector page": vector.read_page,
    "vector deployment": lambda r: vector.read_deployment(r, what="vector get_deployment"),
    "yandex operation": lambda r: yandex.read(yandex.Operation, r, what="get operation"),
    "yandex revisions": lambda r: yandex.newest_first(
        yandex.read(yandex.RevisionPage, r, what="list").revisions
    ),
    "yandex container": lambda r: yandex.read(yandex.Container, r, what="get container"),
}
DESCRIBERS = [facets.describe, vector.describe, yandex.describe]


def _read_everything(response: httpx.Response) -> None:
    messages = []
    for reader in READERS.values():
        try:
            result = reader(response)
        except RollbackError as exc:
            messages.append(exc.message)
        else:
            _use(result)
    assert not [message for message in messages if PLANTED in message]


def _use(result: object) -> None:
    """Touch what the adapters touch next (labels, versions, progress), so it is fuzzed too."""
    for item in result if isinstance(result, list) else [result]:
        if isinstance(item, vector.Deployment):
            _ = item.version(), item.failure_text(), item.successful
        if isinstance(item, yandex.Revision):
            _ = yandex.to_version(item)
        if isinstance(item, vector.Page):
            _ = item.has_more(page=1, per_page=2)


@FUZZ
@given(body=bodies)
def test_every_reader_returns_or_raises_its_own_error_without_echoing_the_body(body: Any) -> None:
    _read_everything(_response(body))


@FUZZ
@given(raw=st.binary(max_size=200), content_type=st.sampled_from(["application/json", "text/html", ""]))
def test_bodies_that_are_not_json_are_malformed_answers(raw: bytes, content_type: str) -> None:
    response = httpx.Response(200, content=raw, headers={"content-type": content_type})
    _read_everything(response)


@FUZZ
@given(body=bodies, status=st.sampled_from([400, 401, 404, 409, 429, 500, 503]))
def test_error_texts_are_always_a_string(body: Any, status: int) -> None:
    for describe in DESCRIBERS:
        assert isinstance(describe(_response(body, status)), str)


segments = st.lists(
    st.sampled_from(["allowed", "x", "..", ".", "%2e", "%2E%2e", ".%2e", "v1.2", "", "a%2Fb", "%00", "~"]),
    max_size=5,
)


@FUZZ
@given(
    # Mostly the allowed origin and first segment, so that the paths after them get explored.
    origin=st.just("http://127.0.0.1:8702")
    | st.sampled_from(
        ["https://127.0.0.1:8702", "HTTP://127.0.0.1:8702", "http://127.0.0.1", "ftp://x", "://"]
    ),
    first=st.just("allowed") | st.sampled_from(["allowedx", "Allowed", "%61llowed", ""]),
    path=segments,
    tail=st.sampled_from(["", "?q=1", "#frag", "?next=/../secret"]),
)
def test_an_allowed_url_is_sent_exactly_as_it_was_checked(
    origin: str, first: str, path: list[str], tail: str
) -> None:
    url = f"{origin}/" + "/".join([first, *path]) + tail
    allowed = endpoint_allowed(url, ["http://127.0.0.1:8702/allowed"])
    if not allowed:
        return
    sent = httpx.URL(url)
    assert sent.host == "127.0.0.1"
    assert sent.port == 8702
    assert sent.path == "/allowed" or sent.path.startswith("/allowed/")
    assert not {".", ".."} & set(sent.path.split("/"))


@FUZZ
@given(url=st.text(max_size=80) | st.builds(lambda p: "https://h.example/" + p, st.text(max_size=40)))
def test_parsing_any_string_refuses_or_parses_and_never_fails_otherwise(url: str) -> None:
    try:
        parsed = parse(url)
    except UnsafeURL:
        return
    assert parsed.scheme in {"http", "https"}
    assert not {".", ".."} & set(parsed.path.split("/"))
    assert isinstance(endpoint_allowed(url, ["https://h.example"]), bool)
