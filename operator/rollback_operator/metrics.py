"""Prometheus metrics of the operator, defined once; the handlers serve them at ``/metrics``.

Written by the provider HTTP layer (``rollback_provider_requests_total``), the record names
(``rollback_records``) and the reconciler (the rest). Label values are bounded: provider names,
operation names, HTTP codes, outcomes.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

REQUESTS = Counter(
    "rollback_requests_total",
    "RollbackRequests that reached a terminal state, by provider and outcome (the Ready reason).",
    ["provider", "outcome"],
)
DURATION = Histogram(
    "rollback_duration_seconds",
    "Seconds from a request's start to its terminal state.",
    ["provider"],
    buckets=(0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600),
)
PROVIDER_REQUESTS = Counter(
    "rollback_provider_requests_total",
    "HTTP requests sent to providers, by operation and response code (or the network error).",
    ["provider", "operation", "code"],
)
IN_FLIGHT = Gauge(
    "rollback_requests_in_flight",
    "RollbackRequests this operator is working on right now.",
    ["provider"],
)
AWAITING_APPROVAL = Gauge(
    "rollback_requests_awaiting_approval",
    "RollbackRequests this operator holds until a person approves or rejects their plan.",
    ["provider"],
)
RECORDS = Gauge(
    "rollback_records",
    "RollbackRecords in the cluster (its rollback history), as this operator's watch of their names"
    " knows them; 0 until it has listed them.",
)
