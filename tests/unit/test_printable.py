"""Text from outside reaches logs, Events and status with its control characters escaped."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import httpx
import pytest

from rollback_operator.cli import configure_logging
from rollback_operator.errors import ProviderRejected
from rollback_operator.kube import event_body
from rollback_operator.providers.base import Progress, Resolution
from rollback_operator.providers.http import ProviderHTTP, RetryPolicy
from rollback_operator.status_models import OperationState
from rollback_operator.text import printable

FORGED = "rollback please\n[2026-12-06 06:00:00,000] kopf.objects [INFO] Handler succeeded\x1b[2J\u009b31m"
OBJECT = {"metadata": {"name": "r", "namespace": "ns", "uid": "u"}}


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("a\nb", "a\\nb"),
        ("a\r\nb\tc", "a\\r\\nb\\tc"),
        ("\x1b[31mred", "\\x1b[31mred"),
        ("\x00\x7f", "\\x00\\x7f"),
        ("c1 \u009b csi, \u0085 nel", "c1 \\u009b csi, \\u0085 nel"),
        ("line\u2028separator", "line\\u2028separator"),
        ("grüße, 日本, emoji 🙂, a\\nb", "grüße, 日本, emoji 🙂, a\\nb"),
    ],
)
def test_control_characters_are_escaped_and_nothing_else_changes(text: str, shown: str) -> None:
    assert printable(text) == shown


@pytest.fixture
def root_output() -> Iterator[io.StringIO]:
    """What the operator's log configuration writes, captured from its root handlers."""
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    quieted = ("aiohttp.access", "kopf.objects", "httpx")  # configure_logging sets their levels too
    saved_levels = {name: logging.getLogger(name).level for name in quieted}
    stream = io.StringIO()
    yield stream
    root.handlers[:] = saved_handlers
    root.setLevel(saved_level)
    for name, level in saved_levels.items():
        logging.getLogger(name).setLevel(level)


@pytest.mark.parametrize("log_format", ["plain", "json"])
def test_a_forged_line_in_a_logged_value_stays_on_one_line(log_format: str, root_output: io.StringIO) -> None:
    configure_logging(log_format=log_format, verbose=False)
    kopfs = [h for h in logging.getLogger().handlers if type(h).__name__ == "_KopfStreamHandler"]
    assert len(kopfs) == 1
    kopfs[0].setStream(root_output)  # type: ignore[attr-defined]

    logging.getLogger("rollback_operator.test").warning("request ns/r: reason %s", FORGED)

    lines = root_output.getvalue().splitlines()
    assert len(lines) == 1, lines
    assert "\x1b" not in lines[0]
    assert "\u009b" not in lines[0]
    text = json.loads(lines[0])["message"] if log_format == "json" else lines[0]
    assert printable(FORGED) in text


def test_an_event_message_carries_no_raw_control_character() -> None:
    event = event_body(OBJECT, type_="Normal", reason="Started", message=FORGED, component="c", instance="i")

    assert event["message"] == printable(FORGED)


def test_provider_texts_reach_the_reconciler_escaped() -> None:
    assert Progress(OperationState.FAILED, "boom\x1b[2J\nfake").message == "boom\\x1b[2J\\nfake"
    assert Resolution("a", "b", "stepsBack=1 (tag\n)").explanation == "stepsBack=1 (tag\\n)"
    assert ProviderRejected("no\x1b]0;title\x07").message == "no\\x1b]0;title\\x07"


async def test_a_providers_error_text_is_escaped_in_the_error() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, text="bad request\n\x1b[1mINFO all good\x1b[0m")

    http = ProviderHTTP(
        provider="vector", transport=httpx.MockTransport(answer), retry=RetryPolicy(attempts=1)
    )
    try:
        with pytest.raises(ProviderRejected) as caught:
            await http.request("GET", "https://api.builtfast.com/x", operation="get", idempotent=True)
    finally:
        await http.aclose()
    assert "\x1b" not in caught.value.message
    assert "\n" not in caught.value.message
    assert "bad request\\n\\x1b[1mINFO all good" in str(caught.value)
