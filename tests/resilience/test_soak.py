"""A soak: everything at once, for a long time; every request ends, no target is rolled back twice.

Requests round-robin over Facets, Vector and Yandex are created at an even pace over
``soak_seconds`` of wall time, against sandboxes where every fault is on at once (5xx, 429,
added latency, answers later than the per-call deadline, hang-ups, truncated bodies, bodies that
never end and bodies over the size cap). Meanwhile, on a seeded schedule:

- the operator is SIGKILLed ``soak_kills`` times during the first ``KILL_SHARE`` of the run and a
  fresh process started at once each time;
- kube-apiserver is stopped and started again ``soak_restarts`` times in the same stretch;
- ``soak_recreations`` times over the whole run, a request already created (finished or in flight)
  is deleted and its identical manifest applied again, as a GitOps prune and re-sync does.

Then every request must be terminal; no target may receive more than one rollback; a target with
a recorded provider handle must have received exactly one, and only claimed identities (with a
RollbackRecord) may have received any. A request that did not succeed must be explained by an
injected fault whose outcome is documented: ``ProviderRejected`` for an answer over the size cap
to a read (``ResponseTooLarge`` is permanent: while resolving, nothing was sent; while polling a
rollback already sent, the request ends ``Failed`` with the handle recorded and the operation is
not followed further), ``OutcomeUnknown`` where an answer to the rollback call itself was lost and
recovery could not tell afterwards (also when a recovery read is over the size cap). A re-created request
mirrors its record (``AlreadyExecuted``), so its cause is the record's outcome.

Memory: the *last* operator process (started by the last kill) is the one measured. Its RSS
(``VmRSS`` from /proc) is read once it has run ``soak_warmup`` seconds after both the last kill and
the last API server restart, i.e. at the start of the steady phase (creations, re-creations and
faults go on, nothing else), and again when every request is terminal; the second reading must be
within ``RSS_TOLERANCE`` of the first. Readings in between (every ``RSS_EVERY`` seconds) are
reported as the peak.
"""

from __future__ import annotations

import heapq
import random
import time
from collections import Counter
from typing import Any

import pytest

from rollback_sandbox.common import Faults
from rollback_sandbox.serve import Sandboxes
from tests.resilience.conftest import OperatorFactory
from tests.resilience.fleet import PROVIDERS, Fleet, api_server_outage, retrying, rss_mib
from tests.resilience.report import Report, Sizes
from tests.support.controlplane import ControlPlane
from tests.support.operator import OperatorProcess
from tests.support.rollbacks import GROUP, RECORDS, VERSION, Requests, condition
from tests.support.scenarios import World

SEED = 20261206
KILL_SHARE = 0.6
"""Kills and API server restarts happen in this first share of the run; the rest is steady."""
CALL_DEADLINE = 3.0
"""``--provider-call-timeout`` of the soak's operators: what a hung or endless answer costs."""
OUTAGE_SECONDS = 2.0
RSS_TOLERANCE = 0.10
RSS_EVERY = 5.0
TOO_LARGE = "larger than"
"""In the message of an answer over ``--max-response-bytes``."""
FAULTS = Faults(
    error_rate=0.08,
    throttle_rate=0.05,
    retry_after=0.5,
    latency=0.02,
    slow_rate=0.02,
    slow_seconds=CALL_DEADLINE + 2,
    drop_rate=0.02,
    malformed_rate=0.02,
    endless_rate=0.01,
    drip_seconds=0.5,
    oversize_rate=0.005,
    oversize_bytes=5 * 1024 * 1024,  # over the operator's 4 MiB cap
)


def _schedule(sizes: Sizes, names: list[str], rng: random.Random) -> list[tuple[float, int, str, str]]:
    """(seconds from the start, tie-breaker, what, request name or "") in time order."""
    span, disturbed = sizes.soak_seconds, sizes.soak_seconds * KILL_SHARE
    events = [(i * span / (len(names) - 1), "create", name) for i, name in enumerate(names)]
    events += [
        ((k + rng.uniform(0.3, 0.7)) * disturbed / sizes.soak_kills, "kill", "")
        for k in range(sizes.soak_kills)
    ]
    events += [
        ((r + 1) * disturbed / (sizes.soak_restarts + 1), "restart", "") for r in range(sizes.soak_restarts)
    ]
    events += [(rng.uniform(0.05, 1.0) * span, "recreate", "") for _ in range(sizes.soak_recreations)]
    timed = [(at, n, what, name) for n, (at, what, name) in enumerate(events)]
    heapq.heapify(timed)
    return [heapq.heappop(timed) for _ in range(len(timed))]


def _records(requests_: Requests) -> dict[str, dict[str, Any]]:
    """Request name → its identity's RollbackRecord, for this namespace."""
    listed: Any = retrying(
        lambda: requests_.custom.list_cluster_custom_object(
            GROUP, VERSION, RECORDS, label_selector=f"rollback.dev/request-namespace={requests_.namespace}"
        )
    )
    return {item["spec"]["request"]["name"]: item for item in listed["items"]}


def _cause(status: dict[str, Any], record: dict[str, Any] | None) -> tuple[str, str, str]:
    """(phase, reason, message) of how the request ended; a mirrored outcome is the record's."""
    ready = condition(status, "Ready")
    reason, message = str(ready.get("reason", "none")), str(status.get("message", ""))
    if reason == "AlreadyExecuted" and record is not None:
        outcome = (record.get("status") or {}).get("outcome") or {}
        reason, message = str(outcome.get("reason", "none")), str(outcome.get("message", ""))
    return str(status.get("phase", "none")), reason, message


def _explained(phase: str, reason: str, message: str) -> bool:
    """Succeeded, or ended by an injected fault as documented (module docstring)."""
    if phase == "Succeeded":
        return True
    if phase == "Failed" and reason == "ProviderRejected" and TOO_LARGE in message:
        return True
    return phase == "Unknown" and reason == "OutcomeUnknown"


@pytest.mark.slow
def test_a_long_run_with_every_fault_kills_restarts_and_re_creations_ends_every_request_once(
    sizes: Sizes,
    cluster: ControlPlane,
    sandboxes: Sandboxes,
    requests_: Requests,
    operator_factory: OperatorFactory,
    report: Report,
) -> None:
    world = World(sandboxes, vector_step_seconds=0.5, yandex_operation_seconds=1.0)
    fleet = Fleet.across_providers(requests_, world, sizes.soak_requests, prefix="soak")
    world.apply()
    for provider in PROVIDERS:
        sandboxes.read(provider, lambda s: setattr(s, "faults", FAULTS))
    fleet.create_secrets()
    rng = random.Random(SEED)
    runs = 0

    def fresh_operator() -> OperatorProcess:
        nonlocal runs
        runs += 1
        extra = ["--provider-call-timeout", str(CALL_DEADLINE)]
        return operator_factory(log_name=f"run-{runs:02d}.log", extra_args=extra).start()

    operator = fresh_operator()
    created: list[str] = []
    recreated: Counter[str] = Counter()
    in_flight: list[int] = []
    outages: list[float] = []
    rss: list[float] = []
    began = time.monotonic()
    disturbed = began  # the end of the last kill or restart
    steady_at = began + sizes.soak_seconds * KILL_SHARE + sizes.soak_warmup
    for at, _, what, name in _schedule(sizes, list(fleet.targets), rng):
        time.sleep(max(0.0, began + at - time.monotonic()))  # the pace of the run, not a wait for a state
        if what == "create":
            fleet.submit([name])
            created.append(name)
        elif what == "recreate" and created:
            chosen = rng.choice(created)
            fleet.recreate(chosen)
            recreated[chosen] += 1
        elif what == "kill":
            in_flight.append(fleet.in_flight())
            operator.kill()
            operator = fresh_operator()
            disturbed = time.monotonic()
        elif what == "restart":
            outages.append(api_server_outage(cluster, OUTAGE_SECONDS))
            disturbed = time.monotonic()
        now = time.monotonic()
        if not rss and now >= max(steady_at, disturbed + sizes.soak_warmup):
            steady_at, rss = now, [_rss(operator)]
        elif rss and now - steady_at >= RSS_EVERY * len(rss):
            rss.append(_rss(operator))
    paced = time.monotonic() - began
    if not rss:  # a run whose schedule ended before the warm-up did: read at the end of the pace
        steady_at, rss = time.monotonic(), [_rss(operator)]
    statuses = fleet.wait_terminal(timeout=max(120.0, sizes.soak_seconds / 2))
    drained = time.monotonic() - began - paced
    rss_end = _rss(operator)

    records = _records(requests_)
    rollbacks = fleet.rollbacks()
    verdict = fleet.verdict(statuses)
    causes = {n: _cause(statuses.get(n, {}), records.get(n)) for n in fleet.targets}
    unexplained = {n: c for n, c in causes.items() if not _explained(*c)}
    handled = {n for n, r in records.items() if (r.get("status") or {}).get("operationId")}
    acted_unread = Counter(
        f"{phase} {reason}"
        for n, (phase, reason, _) in causes.items()
        if phase != "Succeeded" and rollbacks[n]
    )
    mirrored = sum(
        1 for n in recreated if condition(statuses.get(n, {}), "Ready").get("reason") == "AlreadyExecuted"
    )
    by_cause = Counter(
        f"{phase} {reason}" + (" (answer over the size cap)" if TOO_LARGE in message else "")
        for phase, reason, message in causes.values()
    )
    calls = sum(sandboxes.read(p, lambda s: sum(s.requests.values())) for p in PROVIDERS)
    lived = operator.proc is not None and operator.proc.poll() is None
    growth = (rss_end - rss[0]) / rss[0]
    criteria = {
        f"at least {sizes.soak_requests} requests": len(created) >= sizes.soak_requests,
        f"paced over at least {sizes.soak_seconds:.0f} s": paced >= sizes.soak_seconds,
        f"at least {sizes.soak_kills} SIGKILLs": len(in_flight) >= sizes.soak_kills,
        f"{sizes.soak_restarts} API server restarts": len(outages) == sizes.soak_restarts,
        f"at least {sizes.soak_recreations} re-creations": recreated.total() >= sizes.soak_recreations,
        "every request terminal": verdict["terminal"] == sizes.soak_requests,
        "no target rolled back twice": verdict["duplicates"] == 0,
        "every Succeeded request caused exactly one rollback": not verdict[
            "succeeded without exactly one rollback"
        ],
        "every target with a recorded handle rolled back exactly once": all(
            rollbacks[n] == 1 for n in handled
        ),
        "no rollback without a claim (a record)": all(n in records for n, r in rollbacks.items() if r),
        "every request not Succeeded explained by an injected fault": not unexplained,
        "the last operator process never exited": lived,
        f"RSS of the last process at the end within {RSS_TOLERANCE:.0%} of its warmed-up start": abs(growth)
        <= RSS_TOLERANCE,
    }
    report.add(
        "Soak",
        f"{sizes.soak_requests} requests round-robin over Facets, Vector and Yandex (one per target), "
        f"created at an even pace over {sizes.soak_seconds:.0f} s. Every sandbox fault at once on every "
        f"API call: {FAULTS.error_rate:.0%} 503, {FAULTS.throttle_rate:.0%} 429 (`Retry-After: "
        f"{FAULTS.retry_after:g}`), {FAULTS.latency * 1000:.0f} ms added latency, {FAULTS.slow_rate:.0%} "
        f"answered after {FAULTS.slow_seconds:.0f} s, {FAULTS.drop_rate:.0%} hung up on, "
        f"{FAULTS.malformed_rate:.0%} truncated bodies, {FAULTS.endless_rate:.0%} bodies that never end, "
        f"{FAULTS.oversize_rate:.1%} bodies of {FAULTS.oversize_bytes // 2**20} MiB (the operator reads "
        f"4 MiB); the operators run with `--provider-call-timeout {CALL_DEADLINE:g}`. Vector deployments "
        f"take 1 s, Yandex operations 1 s. During the first {KILL_SHARE:.0%} of the run (seeded, seed "
        f"{SEED}) the operator is SIGKILLed {sizes.soak_kills} times (a fresh process each time) and "
        f"kube-apiserver is restarted {sizes.soak_restarts} times ({OUTAGE_SECONDS:g} s down, etcd keeps "
        f"its data); over the whole run {sizes.soak_recreations} requests already created (finished or "
        "in flight) are deleted and applied again unchanged. RSS: the last operator process, read "
        f"{sizes.soak_warmup:.0f} s after the last kill and restart (the start of the steady phase) and "
        "again once every request is terminal. A request not Succeeded must be Failed with "
        "`ProviderRejected` for an answer over the size cap to a read (while resolving: nothing was sent; "
        "while polling a rollback already sent: the operation is not followed further), or Unknown with "
        "`OutcomeUnknown` (an answer to the rollback call was lost and recovery could not settle it); a "
        "re-created one counts with its record's outcome.",
        {
            "requests": sizes.soak_requests,
            "wall time: paced creations / then until all terminal (s)": f"{paced:.0f} / {drained:.0f}",
            "provider API calls (faults included)": calls,
            "SIGKILLs (operator processes)": f"{len(in_flight)} ({runs})",
            "requests in flight at each kill": " ".join(map(str, in_flight)) or "none",
            "API server restarts, stop to ready (s)": " ".join(f"{o:.1f}" for o in outages) or "none",
            "re-creations (distinct requests)": f"{recreated.total()} ({len(recreated)})",
            "re-created requests ending AlreadyExecuted": mirrored,
            "outcomes (phase, reason)": dict(sorted(by_cause.items())),
            "identities claimed (records) / with a provider handle": f"{len(records)} / {len(handled)}",
            "of those not Succeeded, rolled back all the same (outcome not read)": dict(acted_unread)
            or "none",
            "unexplained outcomes": dict(list(unexplained.items())[:5]) or "none",
            "RSS of the last process: steady start / peak / end (MiB)": (
                f"{rss[0]:.0f} / {max([*rss, rss_end]):.0f} / {rss_end:.0f} ({growth:+.1%})"
            ),
            **verdict,
        },
        criteria,
    )
    assert criteria == dict.fromkeys(criteria, True), (verdict, unexplained, operator.tail())


def _rss(operator: OperatorProcess) -> float:
    assert operator.proc is not None
    return rss_mib(operator.proc.pid)
