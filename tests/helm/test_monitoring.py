"""The dashboard and the alerts read metrics the operator really exports.

An operator process runs against the test control plane and the provider sandboxes; one request
rolls back through Facets and another waits for an approval through Vector, so that every metric
has samples. Then /metrics is scraped, and every metric name the Grafana dashboard's queries and the
PrometheusRule's expressions use must be among the scraped samples (a histogram's `_bucket`, `_sum`
and `_count` series are samples of their own, so they are checked as written).
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from rollback_sandbox.serve import Sandboxes
from tests.helm.chart import CHART, render
from tests.helm.promql import metric_names, variable_metrics
from tests.support.operator import OperatorProcess
from tests.support.rollbacks import Requests, manifest
from tests.support.scenarios import World

DASHBOARD = CHART / "dashboards" / "rollback-operator.json"


def _dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())  # type: ignore[no-any-return]


def dashboard_metrics() -> set[str]:
    board = _dashboard()
    names = {n for panel in board["panels"] for t in panel["targets"] for n in metric_names(t["expr"])}
    for variable in board["templating"]["list"]:
        if variable["type"] == "query":
            names |= variable_metrics(variable["query"]["query"])
    return names


def alert_metrics() -> set[str]:
    (rule,) = [
        o for o in render(sets=["metrics.prometheusRule.enabled=true"]) if o["kind"] == "PrometheusRule"
    ]
    return {n for group in rule["spec"]["groups"] for r in group["rules"] for n in metric_names(r["expr"])}


def test_the_query_parser_finds_metrics_and_only_metrics() -> None:
    expr = (
        "histogram_quantile(0.9, sum by (le, provider)"
        ' (rate(a_bucket{provider=~"$p", x="y(z)"}[$__rate_interval])))'
        " / ignoring(code) sum without (code) (b_total offset 5m) > 0"
        " and on(provider) c unless min_over_time(d[30m])"
    )

    assert metric_names(expr) == {"a_bucket", "b_total", "c", "d"}
    assert variable_metrics("label_values(rollback_requests_total, provider)") == {"rollback_requests_total"}


def test_the_dashboard_has_the_promised_panels() -> None:
    titles = {panel["title"] for panel in _dashboard()["panels"]}

    assert {
        "Rollbacks by provider and outcome",
        "Duration percentiles",
        "Provider requests by code",
        "In flight",
        "Awaiting approval",
    } <= titles


def test_the_dashboard_configmap_carries_the_sidecar_label_and_the_json() -> None:
    (config,) = [o for o in render(sets=["metrics.dashboard.enabled=true"]) if o["kind"] == "ConfigMap"]

    assert config["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(config["data"]["rollback-operator.json"]) == _dashboard()


def test_the_alerts_cover_failure_unknown_outcome_and_stuck_rollbacks() -> None:
    (rule,) = [
        o for o in render(sets=["metrics.prometheusRule.enabled=true"]) if o["kind"] == "PrometheusRule"
    ]
    alerts = {r["alert"]: r["expr"] for group in rule["spec"]["groups"] for r in group["rules"]}

    assert set(alerts) == {"RollbackFailed", "RollbackOutcomeUnknown", "RollbackStuckInProgress"}
    assert (
        'outcome!~"RollbackSucceeded|DryRunSucceeded|AlreadyAtTarget|AlreadyExecuted|OutcomeUnknown"'
        in alerts["RollbackFailed"]
    )
    assert 'outcome="OutcomeUnknown"' in alerts["RollbackOutcomeUnknown"]
    assert "rollback_requests_in_flight[30m]" in alerts["RollbackStuckInProgress"]


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
SUCCEEDED = ("rollback_requests_total", frozenset({("provider", "facets"), ("outcome", "RollbackSucceeded")}))


@pytest.fixture
def scraped(sandboxes: Sandboxes, requests_: Requests, operator: OperatorProcess) -> Samples:
    """Every sample on /metrics after one rollback and one request awaiting approval."""
    world = World(sandboxes)
    done, gated = world.scenario("facets"), world.scenario("vector")
    world.apply()
    for name, scenario, spec in (("done", done, {}), ("gated", gated, {"approval": {"required": True}})):
        requests_.secret(f"{name}-creds", scenario.secret)
        requests_.create(manifest(name, scenario.provider, secret=f"{name}-creds", **spec))
    assert requests_.wait_terminal("done")["phase"] == "Succeeded"
    requests_.wait_phase("gated", "AwaitingApproval")
    # the counters move just after the terminal status write: poll until the ended request shows
    deadline = time.monotonic() + 10
    while (samples := _samples(operator.metrics())).get(SUCCEEDED) != 1:
        assert time.monotonic() < deadline, samples
        time.sleep(0.1)
    return samples


def _samples(text: str) -> Samples:
    families = text_string_to_metric_families(text)
    return {(s.name, frozenset(s.labels.items())): s.value for family in families for s in family.samples}


def test_every_metric_the_dashboard_and_the_alerts_use_is_exported(scraped: Samples) -> None:
    used = dashboard_metrics() | alert_metrics()
    exported = {name for name, _ in scraped}

    assert {
        "rollback_requests_total",
        "rollback_duration_seconds_bucket",
        "rollback_provider_requests_total",
        "rollback_requests_in_flight",
        "rollback_requests_awaiting_approval",
    } <= used
    assert used - exported == set()


def test_the_awaiting_approval_gauge_counts_the_waiting_request(scraped: Samples) -> None:
    assert scraped["rollback_requests_awaiting_approval", frozenset({("provider", "vector")})] == 1
    assert scraped[SUCCEEDED] == 1
