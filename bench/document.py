"""docs/performance.md from one benchmark run: context, targets, figures, method, how to reproduce.

Everything in the document comes from ``Results``; the text around the figures only says how
they were measured. Used by ``bench.__main__``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable

from bench.context import Tally
from bench.memory import Memory, Restart
from bench.peer import peer_markdown
from bench.phases import Throughput
from bench.procs import runtime_environment
from bench.report import Results, commit, machine, now, targets

SUBJECTS = ("operator", "floor", "claiming", "contract", "bare")
NAMES = ("operator", "floor", "claiming floor", "contract floor", "bare floor")
HEADS = (*NAMES, "operator / floor", "operator / claiming floor", "operator / contract floor")


def _n(value: float, digits: int = 1) -> str:
    if math.isinf(value):
        return "did not finish"
    return "n/a" if math.isnan(value) else f"{value:,.{digits}f}"


def _row(*cells: object) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b and not math.isinf(a) else "n/a"


def _ratios(values: list[float]) -> list[str]:
    """The operator's figure (first) against the floor's, the claiming floor's and the contract floor's."""
    return [_ratio(values[0], v) for v in values[1:4]]


def _context(r: Results, quick: bool) -> list[str]:
    lines = [f"- date: {now()}", f"- commit: {commit()}"]
    lines += [f"- {k}: {v}" for k, v in machine().items()]
    lines.append(f"- operator and floors (memory, CPU) measured in: {runtime_environment()}")
    lines.append(
        f"- run time: {r.seconds / 60:.1f} min{' (--quick sizes: NOT for publishing)' if quick else ''}"
    )
    loads = ", ".join(f"{phase} {one:.2f}" for phase, (one, _, _) in r.load)
    lines.append(f"- 1-minute load average as each phase began: {loads}")
    lines.append(
        "- the machine is shared with other work; timings move with its load, CPU per rollback less so"
    )
    return lines


def _targets(r: Results) -> list[str]:
    lines = [_row("target", "measured", "goal", "holds"), _row("---", "---", "---", "---")]
    lines += [_row(t.what, t.value, t.goal, "yes" if t.holds else "**no**") for t in targets(r)]
    return lines


def _latency(r: Results) -> list[str]:
    lat = r.latency
    lines = [_row("percentile (ms)", *HEADS), _row(*["---"] * (len(HEADS) + 1))]
    for kind, label in (
        ("first_call", "create → first provider request"),
        ("received", "create → rollback received"),
        ("ready", "create → Ready seen"),
    ):
        for p in ("p50", "p95", "p99"):
            values = [getattr(lat[s], kind)[p] for s in SUBJECTS]
            lines.append(_row(f"{label}, {p}", *(_n(v) for v in values), *_ratios(values)))
    return lines


def _server_ms(t: Throughput, server: str) -> float:
    return t.server_cpu_seconds.get(server, float("nan")) * 1000 / t.count


def _throughput(r: Results) -> list[str]:
    thr = r.throughput
    rows: list[tuple[str, Callable[[Throughput], float], int]] = [
        ("rollbacks per second", lambda t: t.per_second, 1),
        ("first create → last Ready (s)", lambda t: t.seconds, 1),
        ("first create → last rollback received (s)", lambda t: t.last_received, 1),
        ("first create → last create answered (s)", lambda t: t.create_seconds, 1),
        ("CPU per rollback (ms)", lambda t: t.cpu_seconds * 1000 / t.count, 1),
        ("kube-apiserver CPU per rollback (ms)", lambda t: _server_ms(t, "kube-apiserver"), 1),
        ("etcd CPU per rollback (ms)", lambda t: _server_ms(t, "etcd"), 1),
        ("peak RSS (MiB)", lambda t: t.peak_rss_mb, 0),
    ]
    lines = [_row("", *HEADS), _row(*["---"] * (len(HEADS) + 1))]
    for label, pick, digits in rows:
        values = [pick(thr[s]) for s in SUBJECTS]
        lines.append(_row(label, *(_n(v, digits) for v in values), *_ratios(values)))
    rates = "; ".join(f"{s} " + ", ".join(f"{v:.1f}" for v in r.rates.get(s, [])) for s in SUBJECTS)
    lines += [
        "",
        f"Each subject's median of {r.sizes.rounds} rounds (run in turn); rollbacks per second of every "
        f"round: {rates}.",
        "",
        f"Outcomes (median round): { {s: thr[s].phases for s in SUBJECTS} }.",
    ]
    return lines


def _cost_row(label: str, t: Tally) -> str:
    w = t.writes
    routes = "<br>".join(f"{route}: {_n(t.per(count), 2)}" for route, count in sorted(t.routes.items()))
    return _row(
        label,
        t.rollbacks,
        _n(t.per(w.status), 2),
        _n(t.per(w.requests), 2),
        _n(t.per(w.records), 2),
        _n(t.per(w.events), 2),
        w.conflicts,
        _n(t.per(w.total), 2),
        _n(t.per(sum(t.calls.values())), 2),
        routes or "-",
    )


def _costs(r: Results) -> list[str]:
    lines = [
        _row(
            "measured on",
            "rollbacks",
            "status writes",
            "object writes",
            "record writes",
            "Events",
            "409s",
            "all writes",
            "provider calls",
            "provider calls by route",
        ),
        _row(*["---"] * 10),
    ]
    lines += [_cost_row(f"operator, {p}, {r.sizes.per_provider} at once", t) for p, t in r.cost.items()]
    lines.append(_cost_row(f"operator, vector, {r.sizes.burst} at once", r.throughput["operator"].tally))
    lines.append(_cost_row(f"operator, vector, {r.sizes.latency} one by one", r.latency["operator"].tally))
    lines.append(_cost_row(f"floor, vector, {r.sizes.burst} at once", r.throughput["floor"].tally))
    lines.append(
        _cost_row(f"contract floor, vector, {r.sizes.burst} at once", r.throughput["contract"].tally)
    )
    return lines


def _restart_cells(x: Restart) -> list[str]:
    w = x.tally.writes
    return [
        _n(x.healthy_seconds),
        _n(x.probe_seconds),
        _n(x.rss_mb, 0),
        f"{w.status} / {w.requests} / {w.records} / {w.events}",
        str(sum(x.tally.calls.values())),
        str(x.touched),
    ]


def _records_row(m: Memory, n: str) -> list[str]:
    if m.with_records is None:
        return []
    return [
        _row(f"{n} finished requests, {m.records:,} records (and a probe)", *_restart_cells(m.with_records))
    ]


def _memory(r: Results) -> list[str]:
    m = r.memory
    assert m is not None
    n = f"{m.finished:,}"
    lines = [
        _row("", "RSS (MiB)"),
        _row("---", "---"),
        _row("operator idle (empty namespace)", _n(m.idle_mb, 0)),
        _row(
            f"operator with {n} finished requests (after the restart and {m.idle_seconds:.0f} s idle)",
            _n(m.finished_mb, 0),
        ),
        _row(f"operator with {n} finished requests and {m.records:,} records", _n(m.records_mb, 0)),
        _row(f"operator, peak during {r.sizes.burst} at once", _n(r.throughput["operator"].peak_rss_mb, 0)),
        _row(f"floor, peak during {r.sizes.burst} at once", _n(r.throughput["floor"].peak_rss_mb, 0)),
    ]
    lines += [
        "",
        f"Restart (the {n} finished requests were created and marked finished in {m.fill_seconds:.0f} s "
        "while no operator ran; a probe request is created just before the start):",
        "",
        _row(
            "restart over",
            "to /healthz (s)",
            "to probe Ready (s)",
            "RSS then (MiB)",
            "writes: status / object / records / Events",
            "provider calls",
            "finished requests written to",
        ),
        _row(*["---"] * 7),
        _row("nothing (only the probe)", *_restart_cells(m.empty)),
        _row(f"{n} finished requests (and the probe)", *_restart_cells(m.full)),
        *(
            [
                _row(
                    f"{n} finished requests, {m.records:,} records (and a probe)",
                    *_restart_cells(m.with_records),
                )
            ]
            if m.with_records is not None
            else []
        ),
        "",
        f"Idle for {m.idle_seconds:.0f} s with {n} finished requests: {m.idle_cpu_seconds:.2f} CPU seconds, "
        f"{m.idle.writes.total} writes, {sum(m.idle.calls.values())} provider calls.",
    ]
    return lines


def _limits(r: Results) -> list[str]:
    """Where the operator's time goes against the claiming floor, with this run's figures."""
    lat, thr = r.latency, r.throughput
    p50 = {s: lat[s].received["p50"] for s in SUBJECTS}
    first = {s: lat[s].first_call["p50"] for s in SUBJECTS}
    rate = {s: thr[s].per_second for s in SUBJECTS}
    op = thr["operator"]
    cpu = op.cpu_seconds * 1000 / op.count
    kube = op.tally.per(op.tally.writes.total)
    calls = op.tally.per(sum(op.tally.calls.values()))
    return [
        "Where the time goes (the limit for an exactly-once operator is the **claiming floor**: the floor",
        "plus the one guarded write it must store before calling the provider):",
        "",
        f"- **Latency.** The floor reaches the provider {_n(first['floor'])} ms after the create (the watch",
        f"  event and one POST); the claiming floor {_n(p50['claiming'])} ms (plus the claim). The",
        f"  operator's first provider request (resolving the target) arrives at {_n(first['operator'])} ms:",
        "  the watch event through kopf and a look for the identity's RollbackRecord, answered from the",
        "  record names the operator keeps (`recordnames.py`; a read only when the name exists). Its",
        f"  rollback arrives {_n(p50['operator'] - first['operator'])} ms later: the resolve's answer, the",
        "  claim (creating the record: one write, as the claiming floor's) and the POST. So the operator's",
        "  p50 is the claiming floor's plus the resolve, work the contract asks for: `stepsBack` is",
        "  resolved against the provider's history (the floors take the target as given). Ratio: "
        f"{_ratio(p50['operator'], p50['claiming'])} the claiming floor's p50.",
        f"- **Throughput and CPU.** Per rollback the operator makes {_n(kube, 2)} Kubernetes writes (record",
        "  create, one status write, record outcome, two Events), no read for a request without a record,",
        "  and",
        f"  {_n(calls, 2)} provider calls (resolve, trigger, first look); the claiming floor writes twice",
        "  and calls once. The operator's own CPU is "
        f"{_n(cpu)} ms per rollback; the API server's CPU for the writes (kube-apiserver row) is the larger",
        "  share of the machine's two cores. Against the claiming floor the operator reaches "
        f"{_ratio(rate['operator'], rate['claiming'])} its throughput; against the contract floor,",
        f"  which makes the same writes and nothing else, {_ratio(rate['operator'], rate['contract'])}",
        f"  (the contract floor itself reaches {_ratio(rate['contract'], rate['claiming'])} of the",
        "  claiming floor's: the contract's writes, not the operator's code, set the limit).",
        "- **Memory.** Measured with the image's dependency set (see the context above): the operator's",
        "  own Kubernetes calls use aiohttp (as kopf does) and no generated Kubernetes client is installed;",
        "  finished requests are outside the watch (a field selector), and of the records only their",
        "  names are held (`recordnames.py`, about 1 MiB per 10,000 records).",
    ]


def _budget(r: Results) -> list[str]:
    """Throughput on a machine this small is a CPU budget: the subject's, the API server's, etcd's."""
    thr = r.throughput
    cores = os.cpu_count() or 1
    lines = [
        f"On {cores} cores every rollback's CPU comes from one budget: the subject's own, the API server's",
        "for its calls and etcd's for the writes (the sandboxes and the benchmark's driver take the rest).",
        "",
        _row("CPU per rollback (ms)", *NAMES),
        _row(*["---"] * (len(NAMES) + 1)),
    ]
    parts: dict[str, Callable[[Throughput], float]] = {
        "the subject": lambda t: t.cpu_seconds * 1000 / t.count,
        "kube-apiserver": lambda t: _server_ms(t, "kube-apiserver"),
        "etcd": lambda t: _server_ms(t, "etcd"),
    }
    for label, pick in parts.items():
        lines.append(_row(label, *(_n(pick(thr[s])) for s in SUBJECTS)))
    total = {s: sum(pick(thr[s]) for pick in parts.values()) for s in SUBJECTS}
    lines.append(_row("**together**", *(f"**{_n(total[s])}**" for s in SUBJECTS)))
    lines.append(
        _row(f"{cores} cores / together (rollbacks/s)", *(_n(cores * 1000 / total[s]) for s in SUBJECTS))
    )
    lines.append(_row("measured (rollbacks/s)", *(_n(thr[s].per_second) for s in SUBJECTS)))
    need = total["claiming"] / 0.75
    lines += [
        "",
        f"The claiming floor needs {_ratio(total['claiming'], total['operator'])} of the operator's CPU per "
        "rollback, close to the measured throughput ratio "
        f"({_ratio(thr['operator'].per_second, thr['claiming'].per_second)}). "
        f"0.75x would need at most {_n(need)} ms together, {_n(total['operator'] - need)} ms less than now.",
    ]
    w, tally = r.writes, thr["operator"].tally
    if w is not None:
        size = (w.operator_status_ms - w.floor_status_ms) * tally.per(tally.writes.status)
        events = w.event_ms * tally.per(tally.writes.events)
        lines[-1] += (
            f" Of the API server's share, the status's size costs {_n(size)} ms (the contract writes all five"
            f" conditions on every status write; one condition would do for kstatus readers) and the two"
            f" Events {_n(events)} ms: together {_n(size + events)} ms, against the"
            f" {_n(total['operator'] - need)} ms to save. Saving it there is a change of the contract (fewer"
            " conditions or Events), not of the code."
        )
        short = total["operator"] - need - size - events
        mine = parts["the subject"](thr["operator"])
        if short > 0:
            lines[-1] += (
                f" Even with both, the operator's own CPU would have to fall from {_n(mine)} to"
                f" {_n(mine - short)} ms per rollback."
            )
    servers = total["operator"] - parts["the subject"](thr["operator"])
    own = parts["the subject"](thr["claiming"])
    lines += [
        "",
        f"**What 0.75x would leave.** The API server and etcd alone spend {_n(servers)} ms per rollback on"
        " the operator's calls (the contract's five writes, the watch, the record look): by the same budget,"
        f" an operator using no CPU of its own would reach {_ratio(total['claiming'], servers)} the claiming"
        f" floor's throughput. At 0.75x it could spend {_n(need - servers)} ms per rollback on all it does"
        " itself (the watch event, three provider calls, five writes, its logic); the claiming floor spends"
        f" {_n(own)} ms on its watch event, one POST and two writes.",
        "",
        "The **contract floor** (`bench/floor.py --contract`) is a plain program that makes the calls and"
        " writes the contract asks for and nothing else: one GET to resolve `stepsBack`, the record as the"
        " claim, the POST, the contract's status (all five conditions), the record's outcome, the two"
        f" Events. It needs {_n(total['contract'])} ms together per rollback and reaches"
        f" {_ratio(thr['contract'].per_second, thr['claiming'].per_second)} of the claiming floor's"
        " throughput; the"
        f" operator needs {_n(total['operator'])} ms and reaches"
        f" {_ratio(thr['operator'].per_second, thr['contract'].per_second)} of the contract floor's. The"
        " limit is the contract's writes, not the operator's code.",
    ]
    return lines


def _profile(r: Results) -> list[str]:
    prof = r.profile
    if prof is None:
        return ["Not measured: py-spy is missing (`make venv` installs it) or could not attach."]
    lines = [
        f"The throughput burst once more ({r.sizes.burst} requests) with py-spy sampling the operator "
        f"(200 Hz, never pausing it): {prof.samples:,} samples of the event loop; {_n(prof.cpu_ms)} ms of "
        "CPU per rollback in this burst (the sampling adds a little). Each sample goes to the first part "
        "its stack belongs to (`bench/profile.py`):",
        "",
        _row("part", "share of the event loop", "ms per rollback"),
        _row("---", "---", "---"),
    ]
    lines += [_row(part, f"{share:.0%}", _n(share * prof.cpu_ms, 2)) for part, share in prof.shares.items()]
    return lines


MIN_SAMPLED_MS = 1000.0
"""Fewer samples than this (100 at 100 Hz) say too little to be sorted into a table."""


def _server_profile(r: Results) -> list[str]:
    server = r.profile.server if r.profile is not None else None
    if server is None:
        return [
            "Not measured: Go's `pprof` (the toolchain `make controlplane` uses) is missing, or the API "
            "server gave no profile."
        ]
    if server.sampled_ms < MIN_SAMPLED_MS:
        return [
            f"Only {server.sampled_ms:,.0f} ms of the API server's CPU sampled (a short burst): too few"
            " samples to sort."
        ]
    lines = [
        "The same burst, profiled inside kube-apiserver (Go's CPU profiler, 100 Hz;"
        f" {server.sampled_ms / 1000:.1f} s of CPU sampled; {_n(server.cpu_ms)} ms of API server CPU per"
        " rollback in this burst). Each sample goes to the first part its stack holds"
        " (`bench/serverprofile.py`), once by the request the server was serving and once by what it"
        " was doing:",
        "",
        _row("serving", "share", "ms per rollback"),
        _row("---", "---", "---"),
    ]
    lines += [
        _row(part, f"{share:.0%}", _n(share * server.cpu_ms, 2)) for part, share in server.requests.items()
    ]
    lines += ["", _row("doing", "share", "ms per rollback"), _row("---", "---", "---")]
    lines += [_row(part, f"{share:.0%}", _n(share * server.cpu_ms, 2)) for part, share in server.work.items()]
    lines += [
        "",
        "The requests' creates (the driver's) are the same for every subject; the rest is the cost of each"
        " write the contract asks for (status, record create and outcome, Events) and of carrying each"
        " change to the watchers, with the garbage collection their allocations cause. What the server does"
        " per write (managed fields, validation, the patch, storage) is the API server's, not the"
        " operator's: the operator decides only how many writes there are and how large they are, which"
        " is what the contract floor above measures.",
    ]
    return lines


def _write_cost(r: Results) -> list[str]:
    w = r.writes
    assert w is not None
    return [
        f"API server CPU per write ({w.count} writes of each kind, 8 at once, to fresh requests nothing "
        "watches, each written once before the timed pass):",
        "",
        _row("write", "kube-apiserver CPU (ms)"),
        _row("---", "---"),
        _row(
            "a status as the operator writes it (claim or outcome: five conditions, the operation)",
            _n(w.operator_status_ms, 2),
        ),
        _row("a status as the floor writes it (one condition)", _n(w.floor_status_ms, 2)),
        _row("an Event", _n(w.event_ms, 2)),
    ]


METHOD = """\
- One local control plane (etcd + kube-apiserver built from tests/controlplane/), the three provider
  sandboxes in a child process, and the subject under test as a process watching one fresh namespace per
  phase. The benchmark driver creates requests with its own aiohttp client and follows them with a watch.
- Provider delays are zero: Vector deployments report `deployed` at once and Yandex operations are done
  at once, so what is measured is the operator (or the floor), not a simulated provider.
- The operator runs as `rollback-operator run` with its default timing and `--max-concurrent` (200) and
  without `--verbose`. Targets are distinct (one request per Vector environment), so no request waits
  for another. Each phase starts it afresh and begins once it is healthy and has listed the names of
  the RollbackRecords that exist (its log says so), as an operator that has been running has; the
  records of earlier phases accumulate, and listing them is a start's cost, which the restart rows
  measure.
- **Floor**: `bench/floor.py`, a plain async watcher that per new request sends one rollback POST to the
  Vector sandbox and writes status once (`Ready=True`): no resolving, claim, polling, Events or Secret read.
  It uses the operator's client library for each concern (an aiohttp watch as kopf's, aiohttp for the
  status write, `httpx` for the provider), so ratios show what the operator does, not which library it
  uses. **Claiming floor**: the same, but it first writes a claim guarded by the request's
  `resourceVersion` (as the operator does) and only then sends the rollback. **Bare floor**: the floor
  with aiohttp for every call, for scale.
- Latency: requests one at a time, each created after the previous one is Ready, after a few warm-up
  requests that are not counted. "Received" is the sandbox's clock when the rollback POST arrived, minus
  the driver's clock before the create call (one machine, one clock).
- Throughput: all requests created at once (16 in flight), timed from the first create to the last Ready seen;
  bare floor, floor and operator take turns for several rounds and each one's median round is reported,
  so that a change in the shared machine's load does not favour one of them.
- API writes: the API server's own `apiserver_request_total`, read before and after each window (once no write
  has happened for a second), counting PATCH/PUT/POST/DELETE on `rollbackrequests` and
  `rollbackrequests/status` (the driver's creations excluded) and Event creations. Provider calls: the
  sandboxes' per-route counters.
- The operator and the floors run from `.venv-runtime` (`make runtime-venv`): `requirements/runtime.lock`
  and the package, the image's dependency set, without the test tools and the kubectl plugin's client
  that the development environment adds (kopf imports a Kubernetes client whenever one is installed).
- Memory: VmRSS from /proc; CPU: utime + stime from /proc, for the subject and for kube-apiserver and
  etcd (on two cores every API call the subject makes also costs the API server CPU).
- Finished requests are created and patched to a terminal status (copied from a request the operator
  finished) while no operator runs, all aimed at a live Vector target, so any provider call they caused
  would be counted."""


def markdown(r: Results, *, quick: bool) -> str:
    """The whole document."""
    parts = [
        "# Performance",
        "",
        "Generated by `make bench` (`python -m bench`); do not edit by hand. Not part of the test suite.",
        "",
        *_context(r, quick),
        "",
        "## Targets",
        "",
        *_targets(r),
        "",
        *_limits(r),
        "",
        f"## Latency ({r.sizes.latency} sequential requests)",
        "",
        *_latency(r),
        "",
        f"## Throughput ({r.sizes.burst} requests for distinct targets, created at once)",
        "",
        *_throughput(r),
        "",
        "## API writes and provider calls per successful rollback",
        "",
        *_costs(r),
        "",
        "## The machine's CPU per rollback",
        "",
        *_budget(r),
        "",
        "## Where the operator's CPU goes",
        "",
        *_profile(r),
        "",
        "## Where the API server's CPU goes",
        "",
        *_server_profile(r),
        "",
        "## What one write costs the API server",
        "",
        *_write_cost(r),
        "",
        "## Memory and restart cost",
        "",
        *_memory(r),
        "",
        *([peer_markdown(r.peer), ""] if r.peer is not None else []),
        "## How it is measured",
        "",
        METHOD,
        "",
        "## Reproduce",
        "",
        "```",
        "make bench                 # builds what it needs; about 10 minutes on 2 cores, with the peer",
        ".venv/bin/python -m bench --quick --output /tmp/performance.md   # small sizes, a few minutes",
        "make bench-peer            # only the node's peer: the operator as a Pod beside a Job per rollback",
        "```",
        "",
    ]
    return "\n".join(parts)
