"""How the benchmark's profile sorts py-spy's stacks into parts (bench/profile.py)."""

from __future__ import annotations

from bench.profile import KOPF, LOGGING, LOOP, OPERATOR, summarize

TOP = (
    "<module> (rollback_operator/cli.py:197);run_operator (rollback_operator/cli.py:159);"
    "run (kopf/_core/reactor/running.py:81)"  # every stack starts in the CLI and kopf.run
)
LOOP_RUN = f"{TOP};BaseEventLoop._run_once (asyncio/base_events.py:1922);Handle._run (asyncio/events.py:80)"
HANDLER = (
    f"{LOOP_RUN};worker (kopf/_core/reactor/queueing.py:330);on_event (rollback_operator/handlers.py:250)"
)


def test_each_sample_goes_to_the_first_part_its_stack_belongs_to() -> None:
    lines = [
        f"{LOOP_RUN};Calls.authorized (rollback_operator/reconcile/calls.py:68);"
        "ProviderHTTP.request (rollback_operator/providers/http.py:163);select (selectors.py:1) 4",
        f"{LOOP_RUN};StatusWriter._announce (rollback_operator/reconcile/status.py:107);"
        "KubeAPI.post_event (rollback_operator/kube.py:180);"
        "ApiServer.call (rollback_operator/apiserver.py:90) 2",
        f"{LOOP_RUN};Records.find (rollback_operator/reconcile/records.py:55);"
        "ApiServer.call (rollback_operator/apiserver.py:90) 2",
        f"{HANDLER};StatusWriter._announce (rollback_operator/reconcile/status.py:106);"
        "Logger.info (logging/__init__.py:1489) 3",
        f"{HANDLER};Runtime.observe (rollback_operator/handlers.py:60);model_validate (pydantic/main.py:1) 5",
        f"{LOOP_RUN};worker (kopf/_core/reactor/queueing.py:330);process_resource_event (kopf/x.py:1) 6",
        f"{LOOP_RUN};_SelectorSocketTransport._read_ready (asyncio/selector_events.py:1) 8",
        f"{TOP};Thread.run (threading.py:975);serve_forever (socketserver.py:1) 100",  # not the loop
        "not a stack line",
    ]

    samples, shares = summarize(lines)

    assert samples == 30
    assert shares["provider calls (httpx over aiohttp)"] == 4 / 30
    assert shares["Events (2 per rollback)"] == 2 / 30
    assert shares["Kubernetes calls (record look, claim, outcome; status)"] == 2 / 30
    assert shares[LOGGING] == 3 / 30
    assert shares[OPERATOR] == 5 / 30
    assert shares[KOPF] == 6 / 30
    assert shares[LOOP] == 8 / 30
    assert abs(sum(shares.values()) - 1) < 1e-9


def test_no_event_loop_sample_gives_no_shares() -> None:
    assert summarize([f"{TOP};Thread.run (threading.py:975) 7"]) == (0, {})
