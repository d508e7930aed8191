"""The endpoint allow-list: a spec's URL is contacted only when an allowed prefix covers it."""

from __future__ import annotations

import pytest

from rollback_operator.config import DEFAULT_ALLOWED_ENDPOINTS, allowed_endpoints, endpoint_allowed


@pytest.mark.parametrize(
    "url",
    [
        "https://acme.console.facets.cloud",
        "https://a.b.console.facets.cloud/cc-ui/v1",
        "https://api.builtfast.com",
        "https://api.builtfast.com:443/api/v1/vector",
        "https://serverless-containers.api.cloud.yandex.net",
        "https://operation.api.cloud.yandex.net",
        "https://iam.api.cloud.yandex.net",
    ],
)
def test_the_default_list_allows_the_real_provider_hosts(url: str) -> None:
    assert endpoint_allowed(url, DEFAULT_ALLOWED_ENDPOINTS)


@pytest.mark.parametrize(
    "url",
    [
        "https://console.facets.cloud",  # the wildcard needs a subdomain
        "https://evilconsole.facets.cloud",
        "https://acme.console.facets.cloud.evil.com",
        "http://api.builtfast.com",  # scheme matters
        "https://api.builtfast.com:8443",  # port matters
        "https://api.builtfast.com.evil.com",
        "https://user@evil.com",
        "not a url",
        "https://[::1",
    ],
)
def test_look_alike_hosts_schemes_and_ports_are_refused(url: str) -> None:
    assert not endpoint_allowed(url, DEFAULT_ALLOWED_ENDPOINTS)


def test_a_prefix_with_a_path_matches_only_at_segment_boundaries() -> None:
    allowed = ["http://127.0.0.1:8702/api"]
    assert endpoint_allowed("http://127.0.0.1:8702/api", allowed)
    assert endpoint_allowed("http://127.0.0.1:8702/api/v1", allowed)
    assert not endpoint_allowed("http://127.0.0.1:8702/apix", allowed)
    assert not endpoint_allowed("http://127.0.0.1:8703/api", allowed)


def test_extra_entries_come_from_the_environment_and_the_flag() -> None:
    extra = allowed_endpoints(
        ["https://b.example"], environ={"ROLLBACK_OPERATOR_ALLOWED_ENDPOINTS": " https://a.example ,"}
    )
    assert extra == (*DEFAULT_ALLOWED_ENDPOINTS, "https://a.example", "https://b.example")
    assert endpoint_allowed("https://a.example/x", extra)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8702/allowed/../secret",  # httpx would send this to /secret
        "http://127.0.0.1:8702/allowed/./x/../../secret",
        "http://127.0.0.1:8702/allowed/..",
        "http://127.0.0.1:8702/allowed/%2e%2e/secret",  # a server may decode and resolve it
        "http://127.0.0.1:8702/allowed/%2E%2E/secret",
        "http://127.0.0.1:8702/allowed/.%2E/secret",
        "http://127.0.0.1:8702/allowed/%2e/x",
    ],
)
def test_a_path_scoped_entry_cannot_be_escaped_with_dot_segments(url: str) -> None:
    assert not endpoint_allowed(url, ["http://127.0.0.1:8702/allowed"])


def test_dots_inside_a_segment_are_ordinary_characters() -> None:
    allowed = ["http://127.0.0.1:8702/allowed"]
    assert endpoint_allowed("http://127.0.0.1:8702/allowed/v1.2/..x/.well-known", allowed)
