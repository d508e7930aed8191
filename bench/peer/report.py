"""The peer's figures as a report: a section of docs/performance.md and a plain-text table.

Both read ``run_peer``'s results (a plain dict of ``PeerResults``): per rollback, the latencies and
the CPU of the node's parts for the operator and for a Job per rollback, side by side with their
ratio, then the context of the measurement. ``peer_markdown`` is used by ``bench.document`` (the
text of docs/performance.md comes from it), ``table`` by ``bench.peer.__main__``.
"""

from __future__ import annotations

import textwrap
from typing import Any

from bench.peer.cpu import COMPONENTS, PODS, SHIMS

LABELS = {
    "kube-apiserver": "kube-apiserver",
    "etcd": "etcd",
    "kube-controller-manager": "kube-controller-manager",
    "kube-scheduler": "kube-scheduler",
    "kubelet": "kubelet",
    "containerd": "containerd (+ CNI plugins)",
    SHIMS: "containerd shims (+ runc)",
    "kube-proxy": "kube-proxy",
    "dns": "cluster DNS",
    PODS: "the Pods: the operator's / the Jobs' (kubepods cgroup)",
}


def _ratio(operator: float, peer: float) -> str:
    return f"{peer / operator:.1f}x" if operator > 0 else "-"


def _rows(results: dict[str, Any]) -> list[tuple[str, float, float, str]]:
    """(label, operator, peer, format) per line of the report; the components' labels start with "-"."""
    operator, peer = results["operator"], results["peer"]
    rows = [
        (f"create → {what}, {cut} (ms)", operator[key][cut], peer[key][cut], ".0f")
        for key, what in (("received_ms", "rollback received"), ("done_ms", "done (Ready / Job Complete)"))
        for cut in ("p50", "p95", "max")
    ]
    rows.append(
        (
            "CPU per rollback, the node's parts (ms)",
            operator["cpu_ms"]["total"],
            peer["cpu_ms"]["total"],
            ".0f",
        )
    )
    rows += [
        (f"- {LABELS[name]}", operator["cpu_ms"][name], peer["cpu_ms"][name], ".1f") for name in COMPONENTS
    ]
    rows.append(
        (
            "CPU per rollback above the idle rate (ms)",
            operator["above_idle_ms"]["total"],
            peer["above_idle_ms"]["total"],
            ".0f",
        )
    )
    return rows


def _context(results: dict[str, Any]) -> list[tuple[str, str, str]]:
    operator, peer = results["operator"], results["peer"]
    return [
        ("measured window (s)", f"{operator['window_seconds']:.1f}", f"{peer['window_seconds']:.1f}"),
        (
            "idle rate of the same parts (ms of CPU per s)",
            f"{sum(operator['idle_ms_per_second'].values()):.0f}",
            f"{sum(peer['idle_ms_per_second'].values()):.0f}",
        ),
        (
            "provider side, not in the total: sandboxes + TLS front (ms)",
            f"{sum(operator['provider_cpu_ms'].values()):.1f}",
            f"{sum(peer['provider_cpu_ms'].values()):.1f}",
        ),
        ("1-minute load average as the window began", f"{operator['load'][0]:.2f}", f"{peer['load'][0]:.2f}"),
    ]


def peer_markdown(results: dict[str, Any]) -> str:
    """The section "A real peer: a Job per rollback, on the node" of docs/performance.md."""
    lines = [
        "| per rollback | operator | a Job per rollback | Job / operator |",
        "| --- | --- | --- | --- |",
    ]
    lines += [
        f"| {label} | {left:{spec}} | {right:{spec}} | {'' if label[0] == '-' else _ratio(left, right)} |"
        for label, left, right, spec in _rows(results)
    ]
    lines += [f"| {label} | {left} | {right} | |" for label, left, right in _context(results)]
    n, warmup = results["rounds"], results["warmup"]
    shims = (
        "the driver is their subreaper, so a shim that exits stays readable to the end of the window"
        if results["shims_whole"]
        else "read every 0.1 s: a shim's last moments before it exits are missed"
    )
    how = f"""\
How it is measured: `python -m bench.peer` (`make bench-peer`) on the node of the node tier
([`node.md`](node.md)), started at {results["node_started_at"]} and Ready in
{results["node_up_seconds"]:.0f} s, with the operator installed from `deploy/` as that tier installs
it and the provider sandboxes behind its TLS front on the bridge. Each side rolls back {n} Vector environments
one at a time, after {warmup} warm-ups: the operator through a RollbackRequest each, created once the
previous one is Ready; the peer through a Job each (the operator's image with its command replaced
by a few lines of Python that POST the rollback with a Bearer token from a Secret and the test CA
from a ConfigMap, under the `restricted` Pod Security profile, `ttlSecondsAfterFinished: 0`),
created once the previous Job is Complete and gone, with the operator's Deployment scaled to zero.
"Rollback received" is the sandbox's clock when the rollback POST arrived, against the driver's
clock just before the create call (one machine, one clock); "done" is when the driver's watch saw
`Ready=True` or `Complete=True`. The peer only fires the call: it neither waits for the provider to
finish nor records anything, where the operator follows the deployment to its end and writes the
outcome to status, a RollbackRecord and Events.

CPU is counted over the measured window (the first create until the last rollback settled: no shim
left for the peer, then no API write for 1 s) and divided by {n}: kube-apiserver, etcd,
kube-controller-manager, kube-scheduler, kubelet, containerd, kube-proxy and the cluster DNS as
utime + stime from `/proc/<pid>/stat`, each with the children it waited for (such as the CNI plugins
under containerd, `iptables-restore` under kube-proxy, `mount` under the kubelet); the containerd shims the
same way, with the `runc` calls they made ({shims}); the Pods from the kubelet's `kubepods` cgroup
(`cpuacct.usage`: every container, the pause containers included, also of Pods already gone): the
operator's Pod, or the Jobs' Pods. The driver (its creates and one watch per object are in the API
server's figure on both sides) and the sandboxes are not in the total. The idle rate is the same
reading over {results["idle_seconds"]:.0f} s with nothing to do, just before each window (the peer's
without the operator's Pod); "above the idle rate" subtracts it over the window. The machine has 2
cores and was shared with other work: load averages are in the table.
"""
    paragraphs = [
        textwrap.fill(" ".join(part.split()), width=100, break_on_hyphens=False) for part in how.split("\n\n")
    ]
    heading = "## A real peer: a Job per rollback, on the node"
    return "\n\n".join([heading, "\n".join(lines), *paragraphs]) + "\n"


def table(results: dict[str, Any]) -> str:
    """The figures as a plain-text table."""
    lines = [f"{'per rollback':58} {'operator':>10} {'Job':>10} {'Job/op':>8}"]
    for label, left, right, spec in _rows(results):
        ratio = "" if label[0] == "-" else _ratio(left, right)
        lines.append(f"{label:58} {left:>10{spec}} {right:>10{spec}} {ratio:>8}")
    lines += [f"{label:58} {left:>10} {right:>10}" for label, left, right in _context(results)]
    lines.append(
        f"N={results['rounds']} (+{results['warmup']} warm-ups each); "
        f"node started {results['node_started_at']}, Ready in {results['node_up_seconds']:.1f} s"
    )
    return "\n".join(lines)
