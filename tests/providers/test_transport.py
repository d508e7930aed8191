"""The provider calls' transport (aiohttp under httpx) against a raw HTTP server on loopback.

The server is a bare asyncio socket server, so each test controls the exact bytes on the wire: what
the transport sends (URL, headers, body), and answers httpx's own transport would read in its own
way (gzip, a redirect, a connection closed mid-body, a silent server).
"""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import httpx
import pytest

from rollback_operator.providers.transport import AiohttpTransport

Answer = Callable[[asyncio.StreamWriter], Awaitable[None]]


@dataclass
class Server:
    """Records every request's head and body and the connection it came on; answers with ``answer``."""

    answer: Answer
    requests: list[tuple[int, bytes, bytes]] = field(default_factory=list)
    connections: int = 0
    port: int = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        connection = self.connections
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                body = await reader.readexactly(length) if length else b""
                self.requests.append((connection, head, body))
                await self.answer(writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def respond(status: str, body: bytes, *headers: str) -> Answer:
    async def answer(writer: asyncio.StreamWriter) -> None:
        lines = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}", *headers]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        await writer.drain()

    return answer


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Answer], Awaitable[Server]]]:
    servers: list[asyncio.Server] = []

    async def start(answer: Answer) -> Server:
        server = Server(answer)
        listening = await asyncio.start_server(server.handle, "127.0.0.1", 0)
        server.port = listening.sockets[0].getsockname()[1]
        servers.append(listening)
        return server

    yield start
    for listening in servers:
        listening.close()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = AiohttpTransport(tls=ssl.create_default_context(), connections=4)
    async with httpx.AsyncClient(
        transport=transport, timeout=httpx.Timeout(5.0, read=0.5), headers={"User-Agent": "ua/1"}
    ) as http:
        yield http


async def test_the_request_is_sent_as_httpx_built_it(
    serve: Callable[..., Awaitable[Server]], client: httpx.AsyncClient
) -> None:
    server = await serve(respond("200 OK", b'{"ok": true}', "Content-Type: application/json"))

    response = await client.post(
        f"http://127.0.0.1:{server.port}/v1/a%3Ab/rollback?x=1%2F2",
        json={"to": "v1"},
        headers={"Authorization": "Bearer t"},
    )

    assert response.json() == {"ok": True}
    ((_, head, body),) = server.requests
    lines = head.decode().split("\r\n")
    assert lines[0] == "POST /v1/a%3Ab/rollback?x=1%2F2 HTTP/1.1"
    sent = {line.split(":", 1)[0].lower(): line.split(":", 1)[1].strip() for line in lines[1:] if line}
    assert sent["authorization"] == "Bearer t"
    assert sent["user-agent"] == "ua/1"
    assert sent["content-type"] == "application/json"
    assert json.loads(body) == {"to": "v1"}
    assert [line.lower().split(":")[0] for line in lines].count("accept-encoding") == 1


async def test_a_gzip_body_is_decoded_once(
    serve: Callable[..., Awaitable[Server]], client: httpx.AsyncClient
) -> None:
    server = await serve(respond("200 OK", gzip.compress(b'{"a": 1}'), "Content-Encoding: gzip"))

    response = await client.get(f"http://127.0.0.1:{server.port}/")

    assert response.json() == {"a": 1}


async def test_a_redirect_is_an_answer_not_followed(
    serve: Callable[..., Awaitable[Server]], client: httpx.AsyncClient
) -> None:
    server = await serve(respond("302 Found", b"", "Location: http://elsewhere.invalid/"))

    response = await client.get(f"http://127.0.0.1:{server.port}/")

    assert response.status_code == 302
    assert len(server.requests) == 1


async def test_a_refused_connection_is_a_connect_error(client: httpx.AsyncClient) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    with pytest.raises(httpx.ConnectError):
        await client.get(f"http://127.0.0.1:{port}/")


async def test_a_body_cut_short_is_a_protocol_error(
    serve: Callable[..., Awaitable[Server]], client: httpx.AsyncClient
) -> None:
    async def cut(writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 10)
        await writer.drain()
        writer.close()

    server = await serve(cut)

    with pytest.raises(httpx.RemoteProtocolError):
        await client.get(f"http://127.0.0.1:{server.port}/")


async def test_a_silent_server_is_a_read_timeout(
    serve: Callable[..., Awaitable[Server]], client: httpx.AsyncClient
) -> None:
    never = asyncio.Event()

    async def silent(writer: asyncio.StreamWriter) -> None:
        await never.wait()

    server = await serve(silent)

    with pytest.raises(httpx.ReadTimeout):
        await client.get(f"http://127.0.0.1:{server.port}/")
    never.set()


async def test_a_connection_is_reused_only_after_a_body_read_to_its_end(
    serve: Callable[..., Awaitable[Server]], client: httpx.AsyncClient
) -> None:
    whole = respond("200 OK", b"y" * 1000)
    never = asyncio.Event()

    async def answer(writer: asyncio.StreamWriter) -> None:
        if len(server.requests) != 3:
            await whole(writer)
            return
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n" + b"z" * 1000)
        await writer.drain()
        await never.wait()  # the rest never comes

    server = await serve(answer)
    url = f"http://127.0.0.1:{server.port}/"

    await client.get(url)
    await client.get(url)  # read to the end both times: one connection
    async with client.stream("GET", url) as response:  # left unfinished: that connection is closed
        async for _ in response.aiter_bytes():
            break
    await client.get(url)
    never.set()

    assert [connection for connection, _, _ in server.requests] == [1, 1, 1, 2]
