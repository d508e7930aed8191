"""``make demo``: rollbacks through all three providers on a local control plane, shown live.

Starts a real local control plane, the three provider sandboxes and the operator (as a process,
exactly as a user runs it), applies a Secret and a RollbackRequest per provider with ``kubectl``,
plus a dry run and one that fails for a visible reason, prints every status change as it happens,
and ends with ``kubectl get rbr``. Everything it started is stopped on exit, also on Ctrl-C.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rollback_sandbox.serve import Sandboxes
from tests.support.controlplane import BIN_DIR, ControlPlane
from tests.support.crd import install_crd
from tests.support.operator import OperatorProcess
from tests.support.rbac import install_operator_rbac
from tests.support.scenarios import Scenario, World

NAMESPACE = "payments"
TERMINAL = ("Succeeded", "Failed", "Unknown")


def _say(text: str) -> None:
    print(f"\033[1m==> {text}\033[0m", flush=True)


def _request(name: str, scenario: Scenario, reason: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "rollback.dev/v1alpha1",
        "kind": "RollbackRequest",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {
            "reason": reason,
            "provider": scenario.provider,
            "credentialsSecretRef": {"name": f"{scenario.sandbox}-credentials"},
            **spec,
        },
    }


def _secret(scenario: Scenario) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {"name": f"{scenario.sandbox}-credentials", "namespace": NAMESPACE},
        "stringData": scenario.secret,
    }


def _manifests(world: World) -> tuple[list[dict[str, Any]], dict[str, Scenario]]:
    facets, vector, yandex = world.facets(), world.vector(), world.yandex()
    world.apply()
    requests = [
        _request("api-after-bad-release", facets, "5xx spike after the 2026-11-20 release"),
        _request(
            "site-hotfix-broke-checkout",
            vector,
            "checkout fails after hotfix",
            target={"version": vector.earlier[1]},
        ),
        _request("container-memory-leak", yandex, "memory leak in revision 4", target={"stepsBack": 1}),
        _request("what-would-happen", vector, "dry run: where would we go?", dryRun=True),
        _request(
            "stale-expectation", facets, "expects an old live version", expectedCurrentVersion="v-not-live"
        ),
    ]
    secrets = [_secret(s) for s in (facets, vector, yandex)]
    targets = {
        "api-after-bad-release": facets,
        "site-hotfix-broke-checkout": vector,
        "container-memory-leak": yandex,
    }
    return secrets + requests, targets


def _watch(cluster: ControlPlane, names: list[str], timeout: float = 120) -> None:
    """Print each request's phase and message whenever they change, until all are terminal."""
    seen: dict[str, tuple[str, str]] = {}
    start, deadline = time.monotonic(), time.monotonic() + timeout
    while time.monotonic() < deadline:
        listed = json.loads(cluster.kubectl("get", "rbr", "-n", NAMESPACE, "-o", "json").stdout)["items"]
        for item in listed:
            status = item.get("status") or {}
            now = (status.get("phase", ""), status.get("message", ""))
            if now[0] and seen.get(item["metadata"]["name"]) != now:
                seen[item["metadata"]["name"]] = now
                print(
                    f"  {time.monotonic() - start:5.1f}s  {item['metadata']['name']:28} {now[0]:10} {now[1]}"
                )
        if len(seen) == len(names) and all(phase in TERMINAL for phase, _ in seen.values()):
            return
        time.sleep(0.25)
    raise TimeoutError("the demo's requests did not finish in time")


def _kubectl_json(cluster: ControlPlane, *args: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(cluster.kubectl(*args, "-o", "json").stdout)
    return result


def _status(cluster: ControlPlane, name: str) -> dict[str, Any]:
    return dict(_kubectl_json(cluster, "get", "rbr", name, "-n", NAMESPACE).get("status") or {})


def _until_phase(cluster: ControlPlane, name: str, *phases: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = _status(cluster, name)
        if status.get("phase") in phases:
            return status
        time.sleep(0.25)
    raise TimeoutError(f"{name} did not reach {phases}")


def _recreate(cluster: ControlPlane, manifests: list[dict[str, Any]]) -> None:
    """What a GitOps prune and re-sync does: delete a finished request and apply it again."""
    _say("GitOps re-creates a finished request: kubectl delete, then kubectl apply of the same manifest")
    original = next(m for m in manifests if m["metadata"]["name"] == "api-after-bad-release")
    cluster.kubectl("delete", "rbr", "api-after-bad-release", "-n", NAMESPACE)
    cluster.kubectl("apply", "-f", "-", input=json.dumps(original))
    status = _until_phase(cluster, "api-after-bad-release", *TERMINAL)
    print(f"  {status['phase']}: {status['message']}")


def _approval(cluster: ControlPlane, scenario: Scenario) -> None:
    """alice asks for a rollback that needs an approval; bob approves it (the API server checks who)."""
    _say("An approved rollback: alice requests it, bob approves it (kubectl --as, checked at admission)")
    cluster.kubectl("create", "rolebinding", "alice-requests", "--clusterrole=rollback-requester",
                    "--user=alice", "-n", NAMESPACE)  # fmt: skip
    cluster.kubectl("create", "rolebinding", "bob-approves", "--clusterrole=rollback-approver",
                    "--user=bob", "-n", NAMESPACE)  # fmt: skip
    cluster.kubectl("apply", "-f", "-", input=json.dumps(_secret(scenario)))
    request = _request("gated-rollback", scenario, "needs a second pair of eyes", approval={"required": True})
    cluster.kubectl("--as", "alice", "create", "-f", "-", input=json.dumps(request))
    status = _until_phase(cluster, "gated-rollback", "AwaitingApproval")
    print(f"  {status['phase']}: {status['message']}")
    uid = _kubectl_json(cluster, "get", "rbr", "gated-rollback", "-n", NAMESPACE)["metadata"]["uid"]
    forged = _approval_body(uid, status, by="carol")
    refused = cluster.kubectl("--as", "bob", "create", "-f", "-", input=json.dumps(forged), check=False)
    print(f"  bob claiming to be carol: {refused.stderr.strip().splitlines()[-1]}")
    cluster.kubectl(
        "--as", "bob", "create", "-f", "-", input=json.dumps(_approval_body(uid, status, by="bob"))
    )
    status = _until_phase(cluster, "gated-rollback", *TERMINAL)
    who = f"requested by {status.get('requestedBy')}, approved by {status.get('approvedBy')}"
    print(f"  {status['phase']}: {who}")


def _approval_body(uid: str, status: dict[str, Any], *, by: str) -> dict[str, Any]:
    return {
        "apiVersion": "rollback.dev/v1alpha1",
        "kind": "RollbackApproval",
        "metadata": {"generateName": f"gated-rollback-{by}-", "namespace": NAMESPACE},
        "spec": {
            "requestName": "gated-rollback",
            "requestUID": uid,
            "from": status["currentVersion"],
            "to": status["targetVersion"],
            "decision": "Approve",
            "approvedBy": by,
            "comment": "checked with the on-call lead",
        },
    }


def run(workdir: Path) -> int:
    _say("Starting a local kube-apiserver + etcd (built from the official Go modules)")
    cluster = ControlPlane(workdir / "cluster", BIN_DIR)
    sandboxes = Sandboxes(seed=False)
    operator: OperatorProcess | None = None
    try:
        cluster.start()
        print(f"  ready in {cluster.ready_seconds:.1f}s at {cluster.server}")
        install_crd(cluster)
        _say("Starting the Facets, Vector Pro and Yandex Cloud sandboxes")
        sandboxes.start_in_thread()
        for name in ("facets", "vector", "yandex"):
            print(f"  {name:7} {sandboxes.url(name)}")
        world = World(
            sandboxes, vector_step_seconds=1.5, yandex_operation_seconds=3, yandex_service_account=True
        )
        manifests, targets = _manifests(world)
        gated = world.vector()
        world.apply()
        _say("Starting the operator as its least-privilege ServiceAccount (deploy/rbac/)")
        env = {**cluster.env(), "KUBECONFIG": str(install_operator_rbac(cluster))}
        allowed = [a for url in sandboxes.allowed_endpoints() for a in ("--allowed-endpoint", url)]
        operator = OperatorProcess(
            env=env,
            log_path=workdir / "operator.log",
            extra_args=allowed,
            timing=("--poll-initial", "0.5", "--poll-max", "1"),
        )
        operator.start()
        _say(f"kubectl apply: 3 Secrets and 5 RollbackRequests in namespace {NAMESPACE}")
        cluster.kubectl("create", "namespace", NAMESPACE)
        applied = cluster.kubectl("apply", "-f", "-", input="\n---\n".join(json.dumps(m) for m in manifests))
        print("  " + applied.stdout.strip().replace("\n", "\n  "))
        _say("Progress, as the operator writes it into status")
        _watch(cluster, [m["metadata"]["name"] for m in manifests if m["kind"] == "RollbackRequest"])
        _say("kubectl get rbr")
        print(cluster.kubectl("get", "rbr", "-n", NAMESPACE).stdout)
        _say("Rollbacks each sandbox received (exactly one per triggered request)")
        for name, scenario in targets.items():
            print(f"  {scenario.sandbox:7} {name:28} {scenario.rollbacks(sandboxes)}")
        _say("Events of one request: kubectl describe rbr api-after-bad-release")
        described = cluster.kubectl("describe", "rbr", "api-after-bad-release", "-n", NAMESPACE).stdout
        print(described[described.find("Events:") :])
        _recreate(cluster, manifests)
        _approval(cluster, gated)
        _say("The cluster's rollback history: kubectl get rollbackrecords")
        print(cluster.kubectl("get", "rollbackrecords").stdout)
        _say("Rollbacks each sandbox received (still exactly one per target)")
        for name, scenario in {**targets, "gated-rollback": gated}.items():
            print(f"  {scenario.sandbox:7} {name:28} {scenario.rollbacks(sandboxes)}")
        return 0
    finally:
        _say("Cleaning up")
        if operator is not None:
            operator.stop()
        sandboxes.stop_thread()
        cluster.stop()


def main() -> int:
    """Run the demo in a temporary directory."""
    with tempfile.TemporaryDirectory(prefix="rollback-demo-") as tmp:
        try:
            return run(Path(tmp))
        except KeyboardInterrupt:
            return 130


if __name__ == "__main__":
    sys.exit(main())
