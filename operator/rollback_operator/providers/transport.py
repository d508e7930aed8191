"""httpx's requests, carried by aiohttp: the provider calls' transport.

The adapters speak httpx (``httpx.Request`` in, ``httpx.Response`` out; tests swap in
``httpx.MockTransport``). httpx's own transport (httpcore over anyio) costs about 1 ms of CPU per
call on the operator's event loop, three times what the same call costs through this transport,
and a rollback makes three to five provider calls (``docs/performance.md``). aiohttp is already the
library kopf and ``apiserver.py`` use.

What it keeps of httpx's behaviour, so that ``providers/http.py`` classifies failures as before:

- redirects are not followed (a 3xx is an answer), the body is streamed, and ``Content-Encoding``
  is left to httpx to decode;
- the request's ``timeout`` extension: ``connect`` bounds connecting, ``read`` each read;
- failures become httpx's exceptions: ``ConnectError`` / ``ConnectTimeout`` when nothing can have
  been sent, ``ReadTimeout``, ``ReadError`` or ``RemoteProtocolError`` once it may have been.

Proxies from the environment (``HTTPS_PROXY``, ...) are still httpx's: it mounts its own transport
for them ahead of this one. Used by ``providers/http.py``.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator

import aiohttp
import httpx
import yarl

CHUNK = 64 * 1024
# Hop-by-hop or computed headers that aiohttp writes itself.
_DROPPED = frozenset({"host", "content-length", "connection", "transfer-encoding", "keep-alive"})


def _translated(exc: BaseException, request: httpx.Request) -> httpx.TransportError:
    """The httpx error that says the same as an aiohttp one (checked most specific first)."""
    message = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(message, request=request)
    if isinstance(exc, aiohttp.ClientConnectorError):  # refused, unresolvable, TLS verification
        return httpx.ConnectError(message, request=request)
    if isinstance(exc, aiohttp.ServerTimeoutError):  # a read took longer than the read timeout
        return httpx.ReadTimeout(message, request=request)
    if isinstance(exc, aiohttp.ClientPayloadError | aiohttp.ServerDisconnectedError):
        return httpx.RemoteProtocolError(message, request=request)
    return httpx.ReadError(message, request=request)


class _Body(httpx.AsyncByteStream):
    """The answer's body as aiohttp reads it; closing it gives the connection back (or drops it)."""

    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request) -> None:
        self._response = response
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.content.iter_chunked(CHUNK):
                yield chunk
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise _translated(exc, self._request) from exc

    async def aclose(self) -> None:
        # Read to the end: the connection goes back to the pool; left unfinished (the size cap,
        # the deadline): aiohttp closes it, so a half-read answer is never mistaken for the next.
        self._response.release()


class AiohttpTransport(httpx.AsyncBaseTransport):
    """One aiohttp session (opened on first use, in the running loop) for one provider client."""

    def __init__(self, *, tls: ssl.SSLContext, connections: int) -> None:
        self._tls = tls
        self._connections = connections
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connections, ssl=self._tls),
                auto_decompress=False,  # httpx decodes, as with its own transport
                trust_env=False,  # environment proxies are httpx's (see the module docstring)
                skip_auto_headers=("Accept-Encoding", "User-Agent", "Content-Type"),
                timeout=aiohttp.ClientTimeout(total=None),
            )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        limits = request.extensions.get("timeout") or {}
        timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=limits.get("connect"), sock_read=limits.get("read")
        )
        headers = [(k, v) for k, v in request.headers.multi_items() if k.lower() not in _DROPPED]
        body = await request.aread()
        try:
            response = await self._open().request(
                request.method,
                yarl.URL(str(request.url), encoded=True),  # sent exactly as httpx built it
                headers=headers,
                data=body or None,
                allow_redirects=False,
                timeout=timeout,
            )
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise _translated(exc, request) from exc
        return httpx.Response(
            response.status,
            headers=list(response.raw_headers),
            stream=_Body(response, request),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": (response.reason or "").encode()},
        )

    async def aclose(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()
