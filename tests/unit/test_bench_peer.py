"""The pure parts of bench/peer/: percentiles, /proc and cgroup readings, arrivals, the Job, the report."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from bench.peer import (
    COMPONENTS,
    PEER_SCRIPT,
    PeerResults,
    Side,
    Stat,
    cgroup_usage_ns,
    cpu_stat_usec,
    first_rollbacks,
    is_shim,
    peer_job,
    peer_markdown,
    pods_cgroup,
    summary,
    table,
    write_requests,
)

SOCKET = Path("/repo/.node/run/containerd.sock")


def test_summary_is_p50_p95_and_max_in_milliseconds() -> None:
    seconds = [i / 1000 for i in range(1, 21)]  # 1 ms .. 20 ms

    figures = summary(seconds)

    assert figures["p50"] == pytest.approx(10.5)
    assert figures["p95"] == pytest.approx(19.05)
    assert figures["max"] == pytest.approx(20.0)


def test_summary_of_one_value_is_that_value() -> None:
    assert summary([0.25]) == {"p50": 250.0, "p95": 250.0, "max": 250.0}


def test_stat_counts_own_and_waited_for_children_time_past_a_command_with_spaces_and_parens() -> None:
    # pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
    # cutime cstime priority nice threads itrealvalue starttime ...
    line = "4242 (odd) name)) S 1 4242 4242 0 -1 4194560 10 0 0 0 7 3 20 5 20 0 9 0 123456 0 0"

    stat = Stat.parse(line)

    assert stat == Stat(state="S", ppid=1, ticks=7 + 3 + 20 + 5, started=123456)


def test_cgroup_usage_reads_cpuacct_usage_of_v1(tmp_path: Path) -> None:
    (tmp_path / "cpuacct.usage").write_text("1234567890\n")

    assert cgroup_usage_ns(tmp_path) == 1234567890


def test_cgroup_usage_reads_usage_usec_of_v2(tmp_path: Path) -> None:
    (tmp_path / "cpu.stat").write_text("usage_usec 2500\nuser_usec 2000\nsystem_usec 500\n")

    assert cgroup_usage_ns(tmp_path) == 2_500_000


def test_a_cpu_stat_without_usage_is_an_error() -> None:
    with pytest.raises(ValueError, match="usage_usec"):
        cpu_stat_usec("user_usec 1\n")


@pytest.mark.parametrize(
    ("layout", "expected"),
    [
        ("cpuacct/kubepods/cpuacct.usage", "cpuacct/kubepods"),  # v1, cpuacct mounted alone
        ("cpu,cpuacct/kubepods/cpuacct.usage", "cpu,cpuacct/kubepods"),  # v1, co-mounted
        ("kubepods/cpu.stat", "kubepods"),  # v2, cgroupfs driver
        ("kubepods.slice/cpu.stat", "kubepods.slice"),  # v2, systemd driver
    ],
)
def test_the_pods_cgroup_is_found_where_the_hierarchy_accounts_cpu(
    tmp_path: Path, layout: str, expected: str
) -> None:
    (tmp_path / layout).parent.mkdir(parents=True)
    (tmp_path / layout).write_text("0\n")
    (tmp_path / "memory" / "kubepods").mkdir(parents=True)  # no CPU accounting there

    assert pods_cgroup(tmp_path) == tmp_path / expected


def test_without_a_pods_cgroup_the_reading_fails(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="kubepods"):
        pods_cgroup(tmp_path)


def test_first_rollbacks_keeps_the_first_rollback_post_per_environment_since_the_start() -> None:
    api = "/api/v1/vector/environments"
    arrivals = [
        (12.0, f"{api}/env-b/rollback"),
        (10.0, f"{api}/env-a/rollback"),
        (9.0, f"{api}/env-c/rollback"),  # before the window
        (11.0, f"{api}/env-a/rollback"),  # a second one: the first counts
        (10.5, f"{api}/env-b/deployments"),  # not a rollback
    ]

    assert first_rollbacks(arrivals, since=9.5) == {"env-a": 10.0, "env-b": 12.0}


def test_write_requests_sums_the_api_servers_write_verbs_only() -> None:
    metrics = "\n".join(
        [
            "# HELP apiserver_request_total Counter of apiserver requests",
            "# TYPE apiserver_request_total counter",
            'apiserver_request_total{code="201",resource="jobs",verb="POST",version="v1"} 7',
            'apiserver_request_total{code="200",resource="pods",verb="PATCH",version="v1"} 3',
            'apiserver_request_total{code="200",resource="pods",verb="LIST",version="v1"} 50',
            'apiserver_request_total{code="0",resource="jobs",verb="WATCH",version="v1"} 2',
            'apiserver_request_total{code="200",resource="jobs",verb="DELETE",version="v1"} 1e+00',
            'apiserver_request_duration_seconds_count{verb="POST"} 99',
        ]
    )

    assert write_requests(metrics) == 11


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["/usr/bin/containerd-shim-runc-v2", "-namespace", "k8s.io", "-id", "a", "-address", str(SOCKET)],
            True,
        ),
        (
            ["containerd-shim-runc-v2", "-namespace", "k8s.io", "-address", str(SOCKET), "-id", "a", "start"],
            False,
        ),
        (
            [
                "containerd-shim-runc-v2",
                "-namespace",
                "k8s.io",
                "-address",
                str(SOCKET),
                "-id",
                "a",
                "delete",
            ],
            False,
        ),
        (
            ["containerd-shim-runc-v2", "-namespace", "k8s.io", "-id", "a", "-address", "/run/other.sock"],
            False,
        ),
        (["/usr/bin/containerd", "--config", str(SOCKET)], False),
        ([], False),
    ],
)
def test_only_running_shims_of_the_nodes_containerd_count(argv: list[str], expected: bool) -> None:
    assert is_shim([arg.encode() for arg in argv], SOCKET) is expected


def test_the_peer_job_runs_once_under_the_restricted_profile_and_removes_itself() -> None:
    job = peer_job("rollback-001", "01envid", "https://10.88.0.1:8702")

    spec = job["spec"]
    pod = spec["template"]["spec"]
    container = pod["containers"][0]
    env = {item["name"]: item for item in container["env"]}
    assert (spec["backoffLimit"], spec["ttlSecondsAfterFinished"], pod["restartPolicy"]) == (0, 0, "Never")
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert env["ENVIRONMENT"]["value"] == "01envid"
    assert env["VECTOR_TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": "vector-token", "key": "token"}
    assert container["command"][:2] == ["python3", "-c"]
    compile(PEER_SCRIPT, "peer", "exec")  # the script at least parses


def _side(scale: float) -> Side:
    cpu = {name: scale for name in COMPONENTS}
    return Side(
        received_ms={"p50": 10 * scale, "p95": 20 * scale, "max": 30 * scale},
        done_ms={"p50": 40 * scale, "p95": 50 * scale, "max": 60 * scale},
        window_seconds=5 * scale,
        cpu_ms={**cpu, "total": scale * len(cpu)},
        idle_ms_per_second=dict.fromkeys(COMPONENTS, 0.5),
        above_idle_ms={**cpu, "total": scale * len(cpu) - 1},
        provider_cpu_ms={"sandboxes": 1.0, "TLS front": 0.5},
        exited_shims=0,
        load=(1.0, 1.0, 1.0),
    )


def test_the_report_puts_both_sides_in_one_table_with_how_it_is_measured() -> None:
    results = dataclasses.asdict(
        PeerResults(20, 3, "2026-01-01T00:00:00+00:00", 13.0, 10.0, True, _side(1.0), _side(10.0))
    )

    section = peer_markdown(results)

    assert section.startswith("## A real peer: a Job per rollback, on the node\n")
    rows = [line for line in section.splitlines() if line.startswith("|")]
    assert all(row.count("|") == 5 for row in rows)
    assert "| create → rollback received, p95 (ms) | 20 | 200 | 10.0x |" in rows
    assert "| - kube-apiserver | 1.0 | 10.0 |  |" in rows
    assert "How it is measured" in section
    assert "Job" in table(results)
