"""Provider calls trust a private CA only when the operator is given its bundle.

A provider behind a private CA, or a corporate TLS proxy, presents a certificate no public CA signed:
without ``ROLLBACK_OPERATOR_CA_BUNDLE`` (``--ca-bundle``) the call fails before anything is sent;
with it the call goes through. A real TLS server on loopback, a real certificate chain.
"""

from __future__ import annotations

import http.server
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from rollback_operator.config import ENV_CA_BUNDLE, provider_tls
from rollback_operator.errors import ProviderUnavailable
from rollback_operator.providers.http import ProviderHTTP, RetryPolicy
from tests.support.tls import TestCA

ONCE = RetryPolicy(attempts=1, base_delay=0.001, max_delay=0.001, max_retry_after=0.001)


class _Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b'{"hello": "world"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def ca(tmp_path: Path) -> TestCA:
    return TestCA(tmp_path / "pki")


@pytest.fixture
def server(ca: TestCA) -> Iterator[str]:
    """An https URL on loopback whose certificate the test CA signed."""
    issued = ca.issue("server", hosts=["localhost", "127.0.0.1"])
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(issued.cert, issued.key)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"https://localhost:{httpd.server_address[1]}/hello"
    httpd.shutdown()
    thread.join(5)
    httpd.server_close()


async def _get(url: str) -> int:
    http = ProviderHTTP(provider="vector", retry=ONCE)
    try:
        response = await http.request("GET", url, operation="hello", idempotent=True, acts=False, secrets=[])
        return response.status_code
    finally:
        await http.aclose()


async def test_a_private_ca_is_refused_without_the_bundle(
    server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV_CA_BUNDLE, raising=False)

    with pytest.raises(ProviderUnavailable, match="ConnectError") as caught:
        await _get(server)

    assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value.__cause__)


async def test_a_private_ca_is_trusted_with_the_bundle(
    server: str, ca: TestCA, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_CA_BUNDLE, str(ca.cert_path))

    assert await _get(server) == 200


def test_a_bundle_that_holds_no_certificate_is_an_error_at_once(tmp_path: Path) -> None:
    empty = tmp_path / "empty.pem"
    empty.write_text("not a certificate\n")

    with pytest.raises(ssl.SSLError):
        provider_tls(environ={ENV_CA_BUNDLE: str(empty)})
    with pytest.raises(OSError, match="No such file"):
        provider_tls(environ={ENV_CA_BUNDLE: str(tmp_path / "missing.pem")})
