"""The sandbox itself behaves like Yandex: JWT checks, listing rules, rollback validation, errors."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest

from rollback_operator.providers.yandex.auth import IAM_AUDIENCE, parse_service_account_key
from rollback_sandbox.common import SandboxServer
from rollback_sandbox.yandex import DEMO_IAM_TOKEN, YandexState, demo_seed
from tests.providers.yandex.scenario import FOLDER, LIVE, OTHER, PREVIOUS, PROD, SERVICE_ACCOUNT, TOKEN, rev

AUTH = {"Authorization": f"Bearer {TOKEN}"}
ROLLBACK = f"/containers/v1/containers/{PROD}:rollback"


@pytest.fixture
async def http(server: SandboxServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=5.0) as client:
        yield client


def _jwt(authorized_key: dict[str, Any], **overrides: Any) -> str:
    """A JWT signed with the key, with claims (and ``alg``/``kid`` header values) overridden.

    ``iat_offset``/``exp_offset`` place those claims relative to the moment of signing.
    """
    key = parse_service_account_key(json.dumps(authorized_key))
    now = int(time.time())
    iat, exp = now + overrides.pop("iat_offset", 0), now + overrides.pop("exp_offset", 3600)
    claims = {"iss": SERVICE_ACCOUNT, "aud": IAM_AUDIENCE, "iat": iat, "exp": exp}
    headers = {"kid": overrides.pop("kid", key.key_id)}
    algorithm = overrides.pop("alg", "PS256")
    return jwt.encode({**claims, **overrides}, key.private_key, algorithm=algorithm, headers=headers)


def _assert_status(response: httpx.Response, http_status: int, code: int, message: str) -> None:
    body = response.json()
    assert (response.status_code, body["code"]) == (http_status, code), body
    assert message in body["message"]
    assert body["details"][0]["@type"] == "type.googleapis.com/google.rpc.RequestInfo"


async def test_a_correct_jwt_gets_a_token_that_opens_the_api(
    http: httpx.AsyncClient, sa_key: dict[str, Any]
) -> None:
    answer = await http.post("/iam/v1/tokens", json={"jwt": _jwt(sa_key["authorizedKey"])})

    token = answer.json()["iamToken"]
    assert token.startswith("t1.")
    assert answer.json()["expiresAt"].endswith("Z")
    listed = await http.get("/containers/v1/revisions", params={"containerId": PROD},
                            headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert listed.status_code == 200


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"aud": "https://iam.example.com/iam/v1/tokens"}, "Invalid JWT: Audience doesn't match"),
        ({"exp_offset": 3601}, "must not exceed 3600 seconds"),
        ({"iat_offset": -7200, "exp_offset": -3600}, "Signature has expired"),
        ({"iss": "ajesomeoneelse000001"}, "does not belong to service account ajesomeoneelse000001"),
        ({"kid": "ajenosuchkey00000001"}, "Key 'ajenosuchkey00000001' not found"),
        ({"alg": "RS256"}, "The specified alg value is not allowed"),
    ],
    ids=["audience", "too-long", "expired", "issuer", "unknown-kid", "rs256"],
)
async def test_a_jwt_with_a_wrong_claim_is_unauthenticated(
    http: httpx.AsyncClient, sa_key: dict[str, Any], overrides: dict[str, Any], message: str
) -> None:
    answer = await http.post("/iam/v1/tokens", json={"jwt": _jwt(sa_key["authorizedKey"], **overrides)})

    _assert_status(answer, 401, 16, message)


async def test_a_jwt_signed_by_another_key_under_a_known_kid_is_unauthenticated(
    http: httpx.AsyncClient, sa_key: dict[str, Any], stranger_key: dict[str, Any], state: YandexState
) -> None:
    forged = _jwt(stranger_key["authorizedKey"], kid=sa_key["id"])

    _assert_status(
        await http.post("/iam/v1/tokens", json={"jwt": forged}), 401, 16, "Signature verification failed"
    )
    assert state.iam.exchanges == 0


async def test_a_token_request_without_a_jwt_is_an_invalid_argument(http: httpx.AsyncClient) -> None:
    _assert_status(await http.post("/iam/v1/tokens", json={}), 400, 3, "jwt is required")


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer t1.unknown"}, {"Authorization": TOKEN}])
async def test_the_api_wants_a_valid_bearer_token(http: httpx.AsyncClient, headers: dict[str, str]) -> None:
    answer = await http.get("/containers/v1/revisions", params={"containerId": PROD}, headers=headers)

    assert (answer.status_code, answer.json()["code"]) == (401, 16)


@pytest.mark.parametrize("params", [{}, {"containerId": PROD, "folderId": FOLDER}])
async def test_listing_needs_exactly_one_of_container_and_folder(
    http: httpx.AsyncClient, params: dict[str, str]
) -> None:
    answer = await http.get("/containers/v1/revisions", params=params, headers=AUTH)

    _assert_status(answer, 400, 3, "Exactly one of container_id or folder_id")


async def test_the_status_filter_finds_the_active_revision(http: httpx.AsyncClient) -> None:
    answer = await http.get("/containers/v1/revisions", headers=AUTH,
                            params={"containerId": PROD, "filter": 'status="ACTIVE"'})  # fmt: skip

    assert [r["id"] for r in answer.json()["revisions"]] == [LIVE]


async def test_a_folder_lists_every_containers_revisions(http: httpx.AsyncClient, state: YandexState) -> None:
    answer = await http.get(
        "/containers/v1/revisions", params={"folderId": FOLDER, "pageSize": 1000}, headers=AUTH
    )

    assert len(answer.json()["revisions"]) == len(state.revisions)
    assert "nextPageToken" not in answer.json()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"pageSize": "1001"}, "page_size"),
        ({"pageToken": "bm9wZQ"}, "page_token"),
        ({"filter": "name=x"}, "filter"),
    ],
)
async def test_bad_listing_parameters_are_invalid_arguments(
    http: httpx.AsyncClient, params: dict[str, str], message: str
) -> None:
    answer = await http.get("/containers/v1/revisions", params={"containerId": PROD, **params}, headers=AUTH)

    _assert_status(answer, 400, 3, message)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        (f"/containers/v1/revisions/{rev('p', 99)}", "Revision"),
        ("/containers/v1/containers/bbanope", "Container bbanope not found"),
        ("/operations/d4enope", "Operation d4enope not found"),
    ],
)
async def test_unknown_resources_are_not_found(http: httpx.AsyncClient, path: str, message: str) -> None:
    _assert_status(await http.get(path, headers=AUTH), 404, 5, message)


async def test_one_revision_and_one_container_can_be_read(http: httpx.AsyncClient) -> None:
    revision = (await http.get(f"/containers/v1/revisions/{LIVE}", headers=AUTH)).json()
    container = (await http.get(f"/containers/v1/containers/{PROD}", headers=AUTH)).json()

    assert (revision["status"], revision["resources"]["memory"]) == ("ACTIVE", "134217728")
    assert (container["name"], container["status"]) == ("api", "ACTIVE")


@pytest.mark.parametrize(
    ("container", "revision", "http_status", "code"),
    [
        ("bbanope", PREVIOUS, 404, 5),
        (PROD, rev("p", 99), 404, 5),
        (PROD, rev("o", 1), 400, 3),
        (PROD, LIVE, 400, 9),
    ],
    ids=["unknown-container", "unknown-revision", "other-containers-revision", "already-active"],
)
async def test_an_impossible_rollback_is_refused_and_counts_nothing(
    http: httpx.AsyncClient, state: YandexState, container: str, revision: str, http_status: int, code: int
) -> None:
    answer = await http.post(f"/containers/v1/containers/{container}:rollback", json={"revisionId": revision},
                             headers={**AUTH, "Idempotency-Key": "k-1"})  # fmt: skip

    assert (answer.status_code, answer.json()["code"]) == (http_status, code)
    assert not state.rollbacks
    assert not state.operations


async def test_rollbacks_without_a_key_are_not_deduplicated(
    http: httpx.AsyncClient, state: YandexState
) -> None:
    state.operation_seconds = 60  # keep the first one running, so the second is still valid
    for _ in range(2):
        answer = await http.post(ROLLBACK, json={"revisionId": PREVIOUS}, headers=AUTH)
        assert answer.json()["done"] is False

    assert state.rollbacks[PROD] == 2


async def test_a_running_operation_writes_done_false_and_int64_as_strings(
    http: httpx.AsyncClient, state: YandexState
) -> None:
    state.operation_seconds = 60
    body = (
        await http.post(ROLLBACK, json={"revisionId": PREVIOUS}, headers={**AUTH, "Idempotency-Key": "k"})
    ).json()

    assert body["done"] is False
    assert "response" not in body
    assert "error" not in body
    assert body["metadata"]["@type"].endswith("RollbackContainerMetadata")
    assert len(body["createdAt"].rsplit(".", 1)[1]) == len("123456789Z")
    revision = (await http.get(f"/containers/v1/revisions/{PREVIOUS}", headers=AUTH)).json()
    assert revision["status"] == "OBSOLETE"  # not yet: the operation is still running


async def test_the_control_api_seeds_and_reports_state(http: httpx.AsyncClient, state: YandexState) -> None:
    seeded = await http.post(
        "/_sandbox/seed", json={"containers": [{"id": "bbanew", "revisions": [{"id": "r1"}]}]}
    )

    assert seeded.json()["revisions"]["bbanew"] == {"r1": "OBSOLETE"}
    assert "bbanew" in state.containers


async def test_the_demo_seed_serves_a_container_with_a_static_token_and_a_working_key(
    http: httpx.AsyncClient, state: YandexState
) -> None:
    state.reset()
    seed = demo_seed()
    state.seed(seed)
    key = seed["serviceAccountKeys"][0]["authorizedKey"]

    issued = await http.post("/iam/v1/tokens", json={"jwt": _jwt(key, iss=key["service_account_id"])})
    listed = await http.get("/containers/v1/revisions", params={"containerId": "bbademoapi000000001"},
                            headers={"Authorization": f"Bearer {DEMO_IAM_TOKEN}"})  # fmt: skip

    assert issued.status_code == 200
    assert [r["status"] for r in listed.json()["revisions"]].count("ACTIVE") == 1


async def test_other_containers_are_untouched_by_a_rollback(
    http: httpx.AsyncClient, state: YandexState
) -> None:
    before = dict(state.snapshot()["revisions"][OTHER])

    await http.post(ROLLBACK, json={"revisionId": PREVIOUS}, headers=AUTH)

    assert state.snapshot()["revisions"][OTHER] == before
    assert state.snapshot()["revisions"][PROD][PREVIOUS] == "ACTIVE"


async def test_a_container_seeded_again_is_replaced_with_its_revisions(state: YandexState) -> None:
    state.seed({"containers": [{"id": OTHER, "revisions": [{"id": "r-new", "status": "ACTIVE"}]}]})

    assert state.snapshot()["revisions"][OTHER] == {"r-new": "ACTIVE"}
    assert state.snapshot()["revisions"][PROD][LIVE] == "ACTIVE"
