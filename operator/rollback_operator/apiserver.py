"""The operator's HTTP connection to the Kubernetes API server: JSON in, JSON out, its own errors.

kopf logs in (``handlers.login``: the ServiceAccount in a Pod, else the current kubeconfig) and the
result is handed over as an ``Endpoint``. ``ApiServer`` sends each call with one aiohttp session
(the library kopf itself uses) and returns the decoded JSON answer; a non-2xx answer or a broken
connection becomes ``errors.Gone``, ``errors.Conflict`` or ``errors.KubernetesUnavailable``. A 401
logs in again once (a ServiceAccount token is rotated on disk by the kubelet) and repeats the call.

No generated client: the operator makes a dozen kinds of call and reads plain dicts, and a full
client costs about 60 MiB of memory and over a second of start-up (``docs/performance.md``). Used
by ``kube.py``.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from rollback_operator.errors import Conflict, Gone, KubernetesUnavailable

# Failures of the connection itself.
_UNREACHABLE = (aiohttp.ClientError, OSError, asyncio.TimeoutError)


@dataclass(frozen=True)
class Endpoint:
    """Where the API server is and how to authenticate to it."""

    server: str
    """``https://host:port``, without a trailing path."""
    ssl: ssl.SSLContext | bool = True
    headers: Mapping[str, str] = field(default_factory=dict)
    """The ``Authorization`` header, when there is one."""
    proxy: str | None = None


Login = Callable[[], Endpoint]


def _object_missing(body: bytes) -> bool:
    """Whether a 404 says the *object* does not exist (a ``Status`` naming it), as opposed to its
    resource type not being served at all (a plain ``404 page not found``: the CRD is gone)."""
    try:
        answer = json.loads(body or b"")
    except ValueError:
        return False
    return isinstance(answer, dict) and answer.get("kind") == "Status" and "details" in answer


def failure(status: int | None, detail: str, what: str, body: bytes = b"") -> Exception:
    """The operator's error for a failed call (``status`` None: no answer at all)."""
    if status == 404 and _object_missing(body):
        return Gone(what)
    if status == 404:  # retried until the CRD is back: no request is ever concluded from it
        return KubernetesUnavailable(
            f"Kubernetes API: {what}: the resource type is not served (CRD missing?)"
        )
    if status == 409:
        return Conflict(what)
    # Down, unreachable or overloaded: the reconciler retries like any transient failure.
    return KubernetesUnavailable(f"Kubernetes API: {what}: {detail}")


class ApiServer:
    """JSON calls to the API server over one pooled session; re-logs in once on a 401."""

    def __init__(self, login: Login, *, user_agent: str, timeout: float = 60, connections: int = 100) -> None:
        self._login = login
        self._user_agent = user_agent  # the API server names each write's field manager after it
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._connections = connections
        self._endpoint = login()
        self._session: aiohttp.ClientSession | None = None
        self._relogin = asyncio.Lock()

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connections, ssl=self._endpoint.ssl),
                headers={
                    **self._endpoint.headers,
                    "User-Agent": self._user_agent,
                    "Accept": "application/json",
                },
                timeout=self._timeout,
                proxy=self._endpoint.proxy,
                trust_env=False,  # no ~/.netrc lookup per call; a proxy comes from the kubeconfig
            )
        return self._session

    async def call(
        self,
        method: str,
        path: str,
        *,
        what: str,
        query: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        content_type: str = "application/json",
        answer: bool = True,
        accept: str | None = None,
    ) -> Any:
        """``method path`` with ``body`` as JSON; the answer's JSON (None when ``answer`` is False:
        the caller does not use it), or the operator's own error."""
        data = None if body is None else json.dumps(body).encode()
        headers = {} if body is None else {"Content-Type": content_type}
        if accept is not None:
            headers["Accept"] = accept
        for attempt in (1, 2):
            session = self._open()
            try:
                async with session.request(
                    method, self._endpoint.server + path, params=query, data=data, headers=headers
                ) as response:
                    raw = await response.read()
                    status, reason = response.status, response.reason
            except _UNREACHABLE as exc:
                raise failure(None, type(exc).__name__, what) from exc
            if status == 401 and attempt == 1:
                await self._login_again(session)
                continue
            if not 200 <= status <= 299:
                raise failure(status, f"HTTP {status} {reason}", what, raw)
            return json.loads(raw) if answer else None
        raise failure(401, "HTTP 401 Unauthorized", what)

    async def lines(
        self, path: str, *, what: str, query: Mapping[str, str], accept: str, read_timeout: float
    ) -> AsyncIterator[Any]:
        """A watch: each line of the answer, decoded, until the server ends it (or it breaks)."""
        session = self._open()
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=read_timeout)
        try:
            async with session.get(
                self._endpoint.server + path, params=query, headers={"Accept": accept}, timeout=timeout
            ) as response:
                if response.status == 401:
                    await self._login_again(session)
                if not 200 <= response.status <= 299:
                    raise failure(
                        response.status,
                        f"HTTP {response.status} {response.reason}",
                        what,
                        await response.read(),
                    )
                async for line in response.content:
                    if line.strip():
                        yield json.loads(line)
        except _UNREACHABLE as exc:
            raise failure(None, type(exc).__name__, what) from exc

    async def _login_again(self, rejected: aiohttp.ClientSession) -> None:
        """Log in afresh, unless a concurrent call already did since ``rejected`` was used."""
        async with self._relogin:
            if self._session is not rejected:
                return
            self._endpoint = self._login()
            self._session = None
            await rejected.close()

    async def close(self) -> None:
        """Close the session (a later call opens a new one)."""
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()
