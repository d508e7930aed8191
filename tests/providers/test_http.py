"""What the shared provider client makes of a sequence of answers to one call."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from rollback_operator.errors import EndpointNotAllowed, OutcomeUnknown, ProviderRejected, ProviderUnavailable
from rollback_operator.providers.http import ProviderHTTP, RetryPolicy, endpoint_key

FAST = RetryPolicy(attempts=3, base_delay=0.001, max_delay=0.005, max_retry_after=0.001)
URL = "https://serverless-containers.api.cloud.yandex.net/containers/v1/containers/c1:rollback"
TOKEN = "t1.9euelZqXk5WRz46Nj5"


def _client(*answers: httpx.Response | Exception) -> ProviderHTTP:
    queue: Iterator[httpx.Response | Exception] = iter(answers)

    def answer(request: httpx.Request) -> httpx.Response:
        item = next(queue)
        if isinstance(item, Exception):
            raise item
        return item

    return ProviderHTTP(provider="yandex", transport=httpx.MockTransport(answer), retry=FAST)


async def _post(http: ProviderHTTP, *, acts: bool) -> None:
    try:
        await http.request("POST", URL, operation="rollback", idempotent=True, acts=acts, secrets=[TOKEN])
    finally:
        await http.aclose()


def _busy() -> httpx.Response:
    return httpx.Response(429, headers={"Retry-After": "1"}, json={"message": "slow down"})


async def test_a_5xx_before_the_429s_is_remembered_as_maybe_carried_out() -> None:
    http = _client(httpx.Response(503, json={"message": "unavailable"}), _busy(), _busy())

    with pytest.raises(ProviderUnavailable) as caught:
        await _post(http, acts=True)

    assert caught.value.maybe_acted  # the last answer was a 429, but the first may have acted


@pytest.mark.parametrize(
    "first", [httpx.Response(503, json={"message": "unavailable"}), httpx.ReadTimeout("no answer")]
)
async def test_a_refusal_after_an_attempt_that_may_have_acted_is_no_proof_of_nothing(
    first: httpx.Response | Exception,
) -> None:
    http = _client(first, httpx.Response(400, json={"message": "FAILED_PRECONDITION: already live"}))

    with pytest.raises(OutcomeUnknown, match="an earlier attempt may have been carried out"):
        await _post(http, acts=True)


async def test_calls_that_change_nothing_never_count_as_maybe_carried_out() -> None:
    http = _client(httpx.Response(503), httpx.ReadTimeout("no answer"), httpx.Response(503))

    with pytest.raises(ProviderUnavailable) as caught:
        await _post(http, acts=False)  # e.g. the IAM token exchange

    assert not caught.value.maybe_acted


async def test_429s_and_connection_failures_alone_are_not_maybe_carried_out() -> None:
    http = _client(_busy(), httpx.ConnectError("refused"), _busy())

    with pytest.raises(ProviderUnavailable) as caught:
        await _post(http, acts=True)

    assert not caught.value.maybe_acted


async def test_a_rejection_stays_a_rejection_when_nothing_may_have_acted() -> None:
    http = _client(_busy(), httpx.Response(400, json={"message": "bad revision"}))

    with pytest.raises(ProviderRejected):
        await _post(http, acts=True)


async def test_an_answer_that_echoes_the_secret_keeps_its_retry_after() -> None:
    echo = httpx.Response(429, headers={"Retry-After": "7"}, text=f"token {TOKEN} is throttled")
    http = _client(echo, echo, echo)

    with pytest.raises(ProviderUnavailable) as caught:
        await _post(http, acts=False)

    assert caught.value.retry_after == 7.0
    assert TOKEN not in str(caught.value)
    assert "token *** is throttled" in caught.value.message


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("https://äcme.console.facets.cloud", "https://xn--cme-pla.console.facets.cloud/cc-ui"),
        ("https://API.builtfast.com:443/", "https://api.builtfast.com."),
        ("http://[::1]:8443/x", "http://[0:0:0:0:0:0:0:1]:8443"),
    ],
)
def test_every_spelling_of_one_endpoint_has_one_key(one: str, other: str) -> None:
    assert endpoint_key(one) == endpoint_key(other)


def test_different_ports_are_different_endpoints() -> None:
    assert endpoint_key("https://api.builtfast.com:8443") != endpoint_key("https://api.builtfast.com")


@pytest.mark.parametrize(
    "url",
    [
        "https://api.builtfast.com/allowed/../secret",
        "https://api.builtfast.com/api/v1/vector/deployments/%2e%2e/x",
        "https://api.builtfast.com/api/v1/vector/deployments/..",
    ],
)
async def test_a_url_that_would_not_be_sent_as_written_is_refused_before_sending(url: str) -> None:
    sent: list[httpx.URL] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request.url)
        return httpx.Response(200, json={})

    http = ProviderHTTP(provider="vector", transport=httpx.MockTransport(answer), retry=FAST)
    try:
        with pytest.raises(EndpointNotAllowed, match="refused to send"):
            await http.request("GET", url, operation="get_deployment", idempotent=True)
    finally:
        await http.aclose()
    assert sent == []


async def test_a_cookie_one_answer_sets_is_never_sent_with_another_request() -> None:
    sent: list[str | None] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers.get("cookie"))
        return httpx.Response(200, headers={"Set-Cookie": "session=tenant-a; Path=/"}, json={})

    http = ProviderHTTP(provider="yandex", transport=httpx.MockTransport(answer), retry=FAST)
    try:
        for _ in range(2):
            await http.request("GET", URL, operation="read", idempotent=True)
    finally:
        await http.aclose()

    assert sent == [None, None]
