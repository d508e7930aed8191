"""The one URL parser on the security boundary: what the allow-list checks is what httpx sends.

``parse`` reads a URL with ``httpx.URL``, the parser of the connection itself, and refuses what
would make the checked URL and the requested one differ: dot segments (``/allowed/../secret``,
which httpx resolves silently and a server may resolve again) and percent-encoded dots (``%2e``,
which a server may decode and then resolve). A URL that passes is sent exactly as checked.
``endpoint_allowed`` matches such a URL against allow-list prefixes.

Used by ``config.py`` (the allow-list, which the reconciler checks before any call) and
``providers/http.py`` (every request, before it is sent).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

import httpx

_DOT_SEGMENT = re.compile(r"(?:^|/)\.{1,2}(?:/|$)")
_ENCODED_DOT = re.compile(r"%2e", re.IGNORECASE)
_DEFAULT_PORTS = {"http": 80, "https": 443}


class UnsafeURL(ValueError):
    """A URL that cannot be checked as it would be sent; the message says why (never a secret)."""


def _written_path(url: str) -> str:
    """The path as written: after the authority, before the query or fragment."""
    rest = url.split("://", 1)[-1]
    start = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    return re.split(r"[?#]", rest[start:], maxsplit=1)[0]


@lru_cache(maxsize=1024)  # the same few URLs per target, on every call to them
def parse(url: str) -> httpx.URL:
    """``url`` as httpx will send it; ``UnsafeURL`` when it cannot be sent as written."""
    path = _written_path(url)
    if _DOT_SEGMENT.search(path):
        raise UnsafeURL("the URL's path has a '.' or '..' segment")
    if _ENCODED_DOT.search(path):
        raise UnsafeURL("the URL's path has a percent-encoded dot (%2e)")
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, UnicodeError, ValueError, TypeError) as exc:
        raise UnsafeURL("the URL cannot be parsed") from exc
    if parsed.scheme not in _DEFAULT_PORTS or not parsed.host:
        raise UnsafeURL("the URL needs an http(s) scheme and a host")
    return parsed


def _port(url: httpx.URL) -> int:
    return url.port if url.port is not None else _DEFAULT_PORTS[url.scheme]


def _host_matches(pattern: str, host: str) -> bool:
    if pattern.startswith("*."):
        return host.endswith(pattern[1:]) and len(host) > len(pattern) - 1
    return host == pattern


def _under(rule: tuple[str, httpx.URL], target: httpx.URL) -> bool:
    """Scheme, host (or subdomain for ``*.``), port and path-segment boundary all match."""
    pattern, url = rule
    if url.scheme != target.scheme or _port(url) != _port(target):
        return False
    if not _host_matches(pattern, target.host.lower()):
        return False
    base = url.path.rstrip("/")
    return not base or target.path == base or target.path.startswith(base + "/")


@lru_cache(maxsize=256)  # the allow-list's few prefixes, parsed once instead of on every check
def _rule(prefix: str) -> tuple[str, httpx.URL] | None:
    """The host pattern and the parsed prefix; None for a prefix that cannot be parsed."""
    # A "*" is no host character: parse the prefix with a stand-in label, keep the pattern apart.
    text = prefix.strip()
    wildcard = "://*." in text
    try:
        url = parse(text.replace("://*.", "://wildcard.", 1) if wildcard else text)
    except UnsafeURL:
        return None
    host = url.host.lower()
    return ("*." + host.removeprefix("wildcard.") if wildcard else host), url


def endpoint_allowed(url: str, allowed: Iterable[str]) -> bool:
    """True when ``url`` is safe to send (``parse``) and falls under one of the ``allowed`` prefixes.

    A prefix matches when the scheme and port are equal, the host is equal (or, for
    ``https://*.example.com``, a subdomain of it) and the URL's path starts at a path-segment
    boundary of the prefix's path.
    """
    try:
        target = parse(url)
    except UnsafeURL:
        return False
    return any(rule is not None and _under(rule, target) for rule in map(_rule, allowed))
