"""A real single-node Kubernetes cluster on this machine, for the node tier (tests/node/).

``Node(directory).up()`` starts containerd (Debian's, with its own configuration), etcd,
kube-apiserver, kube-controller-manager, kube-scheduler, kubelet and kube-proxy (all built from the
pinned module by tests/controlplane/build.sh), a bridge for the Pods and the cluster DNS
(tests/node/dns.py), imports the images tests/node/image.sh built, and returns when the node is Ready.
``down()`` stops all of it and puts the machine back as it found it: processes (by pid file), Pods'
mounts and network namespaces, the bridge and veths, iptables/nftables rules and chains, cgroups,
sysctls and the host paths the kubelet and containerd write whatever they are told. What it found is
recorded at the first ``up`` (``before.json``), so ``down`` also cleans up after a killed run.

Everything lives under ``directory`` (``.node/``), every server listens on loopback or on the
bridge's own address, and a FORWARD rule drops whatever the Pods send off the bridge: Pod traffic
never leaves the machine. Command line: ``python -m tests.node up|down [--dir .node]``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import NameOID

from tests.support.controlplane import BIN_DIR, REPO, files, processes
from tests.support.tls import TestCA

log = logging.getLogger(__name__)

NODE_DIR = REPO / ".node"
NODE_NAME = "rollback-node"
BRIDGE = "rbnode0"
GATEWAY = "10.88.0.1"  # the bridge's address: the API server, the kubelet, DNS and the sandboxes
POD_CIDR = "10.88.0.0/16"
SERVICE_CIDR = "10.96.0.0/24"
API_SERVICE_IP = "10.96.0.1"
API_PORT = 6443
CNI_BIN = "/usr/lib/cni"
SANDBOX_IMAGE = "registry.k8s.io/pause:node"  # tests/node/image.sh
OPERATOR_IMAGE = "rollback-operator:node"
IMAGES = ("pause", "operator")

# Stop order: the node's agents first, the API server's storage last; containerd after the Pods.
SERVERS = (
    "dns",
    "kube-proxy",
    "kubelet",
    "kube-scheduler",
    "kube-controller-manager",
    "kube-apiserver",
    "etcd",
)
# Changed by the kubelet, kube-proxy or the CNI bridge plugin: restored by `down`.
SYSCTLS = (
    "net.ipv4.ip_forward",
    "vm.overcommit_memory",
    "vm.panic_on_oom",
    "kernel.panic",
    "kernel.panic_on_oops",
    "kernel.keys.root_maxkeys",
    "kernel.keys.root_maxbytes",
    "net.ipv4.conf.all.route_localnet",
    "net.bridge.bridge-nf-call-iptables",
    "net.bridge.bridge-nf-call-ip6tables",
    "net.netfilter.nf_conntrack_max",
)
# Written by the kubelet, containerd and the CNI plugins whatever their configuration says.
HOST_PATHS = (
    "/var/lib/kubelet",
    "/var/log/containers",
    "/var/log/pods",
    "/var/lib/cni",
    "/usr/libexec/kubernetes",
    "/run/containerd",
    "/run/netns",
    "/etc/cni",
)
CGROUP_ROOT = Path("/sys/fs/cgroup")
CGROUP_TOPS = ("kubepods", "kubepods.slice", "k8s.io")  # the kubelet's (cgroupfs) and containerd's
NFT_TABLES = tuple(
    f"{family} {table}" for family in ("ip", "ip6") for table in ("filter", "nat", "mangle", "raw")
)
USERS = {  # static tokens: user -> groups
    "admin": "system:masters",
    f"system:node:{NODE_NAME}": "system:nodes",
    "system:kube-controller-manager": "",
    "system:kube-scheduler": "",
    "system:kube-proxy": "",
}


class NodeError(RuntimeError):
    """The node did not come up; the message carries the relevant log."""


def run(*argv: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    if check and result.returncode != 0:
        raise NodeError(f"{' '.join(argv)} exited {result.returncode}: {result.stderr.strip()}")
    return result


def sysctl_key(name: str) -> Path:
    return Path("/proc/sys") / name.replace(".", "/")


class Node:
    """The node whose state lives in ``directory``."""

    def __init__(self, directory: Path = NODE_DIR, bin_dir: Path = BIN_DIR) -> None:
        self.dir = directory.resolve()
        self.bin_dir = bin_dir.resolve()
        self.run_dir = self.dir / "run"
        self.logs = self.dir / "logs"
        self.pki = self.dir / "pki"
        self.kubeconfig = self.dir / "admin.kubeconfig"
        self.socket = self.run_dir / "containerd.sock"
        self.server = f"https://{GATEWAY}:{API_PORT}"
        self.ready_seconds: float | None = None
        self._children: dict[str, subprocess.Popen[bytes]] = {}

    # -- up ------------------------------------------------------------------------------------------

    def up(self) -> None:
        """Start every part (or find it running) and return once the node is Ready."""
        began = time.monotonic()
        missing = [name for name in (*SERVERS[1:], "kubectl") if not (self.bin_dir / name).is_file()]
        missing += [
            f"images/{image}.tar" for image in IMAGES if not (self.dir / "images" / f"{image}.tar").is_file()
        ]
        if missing:
            raise NodeError(f"missing: {', '.join(missing)} (make node-build)")
        for directory in (self.run_dir, self.logs):
            directory.mkdir(parents=True, exist_ok=True)
        self._record_before()
        try:
            self._pki()
            self._network()
            self._containerd()
            self._control_plane()
            self._agents()
            self.wait_for("node Ready", self._node_ready, timeout=120, server="kubelet")
            self.wait_for(
                "the default ServiceAccount", lambda: self._kubectl_ok("get", "serviceaccount", "default")
            )
        except BaseException:
            self.down()
            raise
        self.ready_seconds = time.monotonic() - began
        log.info("node %s Ready in %.1fs", NODE_NAME, self.ready_seconds)

    def _record_before(self) -> None:
        path = self.dir / "before.json"
        if path.exists():
            return
        before = {
            "sysctls": {
                key: sysctl_key(key).read_text().strip() for key in SYSCTLS if sysctl_key(key).exists()
            },
            "host_paths": [p for p in HOST_PATHS if os.path.lexists(p)],
            "cgroups": [str(p) for p in self._cgroup_candidates() if p.exists()],
            "nft_tables": [
                t for t in NFT_TABLES if run("nft", "list", "table", *t.split(), check=False).returncode == 0
            ],
        }
        path.write_text(json.dumps(before, indent=2) + "\n")

    def _pki(self) -> None:
        if (self.pki / "tokens.csv").exists():
            return
        ca = TestCA(self.pki, "rollback-operator node CA")
        hosts = [
            "kubernetes",
            "kubernetes.default",
            "kubernetes.default.svc",
            "kubernetes.default.svc.cluster.local",
        ]
        ca.issue("apiserver", hosts=[*hosts, "localhost", GATEWAY, API_SERVICE_IP, "127.0.0.1"])
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:masters"),
                x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver-kubelet-client"),
            ]
        )
        ca.issue("kubelet-client", hosts=[], client=subject)
        files.write_private(self.pki / "sa.key", files.signing_key_pem())
        tokens = {user: os.urandom(16).hex() for user in USERS}
        lines = [f'{tokens[u]},{u},{u},"{g}"' if g else f"{tokens[u]},{u},{u}" for u, g in USERS.items()]
        for user, token in tokens.items():
            name = "admin" if user == "admin" else user.split(":")[1]
            config = files.kubeconfig(server=self.server, ca_file=self.pki / "ca.crt", user=user, token=token)
            files.write_private(self.dir / f"{name}.kubeconfig", config)
        files.write_private(self.pki / "tokens.csv", "\n".join(lines) + "\n")

    def _network(self) -> None:
        if run("ip", "link", "show", BRIDGE, check=False).returncode != 0:
            run("ip", "link", "add", BRIDGE, "type", "bridge")
            run("ip", "addr", "add", f"{GATEWAY}/16", "dev", BRIDGE)
            run("ip", "link", "set", BRIDGE, "up")
        # nothing the Pods send is forwarded off the bridge (Pod to Pod and Pod to node still work)
        rule = ("FORWARD", "-i", BRIDGE, "!", "-o", BRIDGE, "-j", "DROP")
        if run("iptables", "-C", *rule, check=False).returncode != 0:
            run("iptables", "-I", rule[0], "1", *rule[1:])
        net_d = self.dir / "cni" / "net.d"
        net_d.mkdir(parents=True, exist_ok=True)
        ipam = {
            "type": "host-local",
            "dataDir": str(self.dir / "cni" / "ipam"),
            "ranges": [
                [
                    {
                        "subnet": POD_CIDR,
                        "rangeStart": "10.88.1.1",
                        "rangeEnd": "10.88.1.254",
                        "gateway": GATEWAY,
                    }
                ]
            ],
            "routes": [{"dst": "0.0.0.0/0"}],
        }
        conf = {
            "cniVersion": "1.0.0",
            "name": "rollback-node",
            "plugins": [
                {
                    "type": "bridge",
                    "bridge": BRIDGE,
                    "isGateway": True,
                    "ipMasq": False,
                    "hairpinMode": True,
                    "ipam": ipam,
                },
                {"type": "portmap", "capabilities": {"portMappings": True}},
            ],
        }
        (net_d / "10-rollback-node.conflist").write_text(json.dumps(conf, indent=2) + "\n")

    def _containerd(self) -> None:
        config = self.dir / "containerd" / "config.toml"
        config.parent.mkdir(parents=True, exist_ok=True)
        template = (Path(__file__).parent / "containerd.toml").read_text()
        config.write_text(
            template.replace("@NODE_DIR@", str(self.dir)).replace("@SANDBOX_IMAGE@", SANDBOX_IMAGE)
        )
        if self._pid("containerd") is None:
            self._start("containerd", ["/usr/bin/containerd", "--config", str(config)])
            self.wait_for(
                "containerd", lambda: self._ctr("version", check=False).returncode == 0, server="containerd"
            )
        for image in IMAGES:
            self._ctr("images", "import", str(self.dir / "images" / f"{image}.tar"), timeout=120)

    def _control_plane(self) -> None:
        pki = self.pki
        self._start_once(
            "etcd",
            [
                f"--data-dir={self.dir / 'etcd'}",
                "--listen-client-urls=http://127.0.0.1:22379",
                "--advertise-client-urls=http://127.0.0.1:22379",
                "--listen-peer-urls=http://127.0.0.1:22380",
                "--initial-advertise-peer-urls=http://127.0.0.1:22380",
                "--initial-cluster=default=http://127.0.0.1:22380",
                "--unsafe-no-fsync",
                "--log-level=warn",
            ],
        )
        self._start_once(
            "kube-apiserver",
            [
                "--etcd-servers=http://127.0.0.1:22379",
                f"--bind-address={GATEWAY}",
                f"--advertise-address={GATEWAY}",
                f"--secure-port={API_PORT}",
                f"--tls-cert-file={pki / 'apiserver.crt'}",
                f"--tls-private-key-file={pki / 'apiserver.key'}",
                f"--client-ca-file={pki / 'ca.crt'}",
                f"--token-auth-file={pki / 'tokens.csv'}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--service-account-issuer=https://kubernetes.default.svc",
                f"--service-account-key-file={pki / 'sa.key'}",
                f"--service-account-signing-key-file={pki / 'sa.key'}",
                "--authorization-mode=Node,RBAC",
                "--enable-admission-plugins=NodeRestriction",
                f"--kubelet-client-certificate={pki / 'kubelet-client.crt'}",
                f"--kubelet-client-key={pki / 'kubelet-client.key'}",
                "--kubelet-preferred-address-types=InternalIP",  # not the host's resolver
                "--allow-privileged=true",
                "--profiling=false",
            ],
        )
        self.wait_for(
            "kube-apiserver",
            lambda: self._kubectl_ok("get", "--raw", "/readyz"),
            timeout=90,
            server="kube-apiserver",
        )
        self._start_once(
            "kube-controller-manager",
            [
                f"--kubeconfig={self.dir / 'kube-controller-manager.kubeconfig'}",
                "--bind-address=127.0.0.1",
                "--secure-port=0",
                "--leader-elect=false",
                "--use-service-account-credentials=true",
                f"--service-account-private-key-file={pki / 'sa.key'}",
                f"--root-ca-file={pki / 'ca.crt'}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--cluster-name=rollback-node",
                "--profiling=false",
                f"--flex-volume-plugin-dir={self.dir / 'flex'}",
            ],
        )
        self._start_once(
            "kube-scheduler",
            [
                f"--kubeconfig={self.dir / 'kube-scheduler.kubeconfig'}",
                "--secure-port=0",
                "--leader-elect=false",
                "--profiling=false",
            ],
        )

    def _agents(self) -> None:
        kubelet_dir = self.dir / "kubelet"
        kubelet_dir.mkdir(parents=True, exist_ok=True)
        resolv = self.dir / "resolv.conf"  # for dnsPolicy Default: nothing answers there
        resolv.write_text(f"nameserver {GATEWAY}\n")
        kubelet_config = {
            "apiVersion": "kubelet.config.k8s.io/v1beta1",
            "kind": "KubeletConfiguration",
            "address": GATEWAY,
            "port": 10250,
            "readOnlyPort": 0,
            "healthzPort": 0,
            "authentication": {
                "anonymous": {"enabled": False},
                "webhook": {"enabled": True},
                "x509": {"clientCAFile": str(self.pki / "ca.crt")},
            },
            "authorization": {"mode": "Webhook"},
            "cgroupDriver": "cgroupfs",
            "failCgroupV1": False,  # this machine mounts cgroup v1 (hybrid)
            "failSwapOn": False,
            "containerRuntimeEndpoint": f"unix://{self.socket}",
            "resolvConf": str(resolv),
            "clusterDNS": [GATEWAY],
            "clusterDomain": "cluster.local",
            "volumePluginDir": str(kubelet_dir / "volume-plugins"),
            "podLogsDir": str(kubelet_dir / "pod-logs"),
            "evictionHard": {
                "memory.available": "100Mi",
                "nodefs.available": "2%",
                "imagefs.available": "2%",
            },
            "imageGCHighThresholdPercent": 100,
            "imageGCLowThresholdPercent": 99,
            "serializeImagePulls": True,
            "staticPodPath": "",
        }
        (kubelet_dir / "config.json").write_text(json.dumps(kubelet_config, indent=2) + "\n")
        self._start_once(
            "kubelet",
            [
                f"--config={kubelet_dir / 'config.json'}",
                f"--kubeconfig={self.dir / 'node.kubeconfig'}",
                f"--root-dir={kubelet_dir / 'root'}",
                f"--cert-dir={kubelet_dir / 'pki'}",
                f"--hostname-override={NODE_NAME}",
                f"--node-ip={GATEWAY}",
                "-v=1",
            ],
        )
        proxy_config = {
            "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
            "kind": "KubeProxyConfiguration",
            "clientConnection": {"kubeconfig": str(self.dir / "kube-proxy.kubeconfig")},
            "mode": "iptables",
            "hostnameOverride": NODE_NAME,
            "healthzBindAddress": f"{GATEWAY}:10256",
            "metricsBindAddress": f"{GATEWAY}:10249",
            "clusterCIDR": POD_CIDR,
            "nodePortAddresses": [f"{GATEWAY}/32"],
            "conntrack": {
                "maxPerCore": 0,
                "min": 0,
                "tcpEstablishedTimeout": "0s",
                "tcpCloseWaitTimeout": "0s",
            },
            "iptables": {"localhostNodePorts": False},
        }
        (self.dir / "kube-proxy.json").write_text(json.dumps(proxy_config, indent=2) + "\n")
        self._start_once("kube-proxy", [f"--config={self.dir / 'kube-proxy.json'}"])
        if self._pid("dns") is None:
            argv = [
                sys.executable,  # the project's venv: what runs this
                "-m",
                "tests.node.dns",
                "--listen",
                GATEWAY,
                "--kubeconfig",
                str(self.kubeconfig),
            ]
            self._start("dns", argv, cwd=REPO)

    # -- down ----------------------------------------------------------------------------------------

    def down(self) -> None:
        """Stop everything and undo every change to the machine (safe to call at any time, twice)."""
        if self._pid("kube-apiserver") is not None and self._kubectl_ok("get", "--raw", "/readyz"):
            # the kubelet tears the Pods' sandboxes and networks down itself, through the CNI plugins
            self._kubectl(
                "delete",
                "deployments,replicasets,daemonsets,statefulsets,jobs",
                "--all",
                "-A",
                "--cascade=orphan",
                "--wait=false",
                check=False,
            )
            self._kubectl("delete", "pods", "--all", "-A", "--grace-period=1", "--wait=false", check=False)
            with contextlib.suppress(NodeError):
                self.wait_for(
                    "Pods gone",
                    lambda: not self._ctr("tasks", "ls", "-q", check=False).stdout.strip(),
                    timeout=60,
                )
        for name in SERVERS:
            self._stop(name)
        if self._pid("containerd") is not None:
            for namespace in ("k8s.io", "default"):
                for task in self._ctr("-n", namespace, "tasks", "ls", "-q", check=False).stdout.split():
                    self._ctr("-n", namespace, "tasks", "kill", "-s", "KILL", task, check=False)
                for container in self._ctr(
                    "-n", namespace, "containers", "ls", "-q", check=False
                ).stdout.split():
                    self._ctr("-n", namespace, "tasks", "delete", "--force", container, check=False)
                    self._ctr("-n", namespace, "containers", "delete", container, check=False)
        if (self.bin_dir / "kube-proxy").exists():
            run(str(self.bin_dir / "kube-proxy"), "--cleanup", check=False)
        self._stop("containerd")
        self._iptables_down()
        self._unmount()
        for veth in run("ip", "-o", "link", "show", "master", BRIDGE, check=False).stdout.splitlines():
            run("ip", "link", "del", veth.split(": ")[1].split("@")[0], check=False)
        run("ip", "link", "del", BRIDGE, check=False)
        before = self._before()
        self._cgroups_down(before)
        for path in HOST_PATHS:
            if path not in before.get("host_paths", HOST_PATHS):
                shutil.rmtree(path, ignore_errors=True)
        for key, value in before.get("sysctls", {}).items():
            with contextlib.suppress(OSError):
                if sysctl_key(key).read_text().strip() != value:
                    sysctl_key(key).write_text(value + "\n")
        for name in ("etcd", "kubelet", "containerd", "cni", "flex", "pki", "run"):
            shutil.rmtree(self.dir / name, ignore_errors=True)
        for stale in (*self.dir.glob("*.kubeconfig"), self.dir / "before.json"):
            stale.unlink(missing_ok=True)

    def _before(self) -> dict[str, object]:
        path = self.dir / "before.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def _iptables_down(self) -> None:
        run("iptables", "-D", "FORWARD", "-i", BRIDGE, "!", "-o", BRIDGE, "-j", "DROP", check=False)
        for tool in ("iptables", "ip6tables"):
            for table in ("filter", "nat", "mangle", "raw"):
                rules = run(tool, "-t", table, "-S", check=False).stdout.splitlines()
                ours = [
                    r.split()[1]
                    for r in rules
                    if r.startswith("-N ") and r.split()[1].startswith(("KUBE-", "CNI-"))
                ]
                for rule in rules:  # first the jumps into our chains from chains we did not make
                    words = rule.split()
                    if words[0] == "-A" and words[1] not in ours and any(f"-j {c}" in rule for c in ours):
                        run(tool, "-t", table, "-D", *words[1:], check=False)
                for flag in ("-F", "-X"):
                    for chain in ours:
                        run(tool, "-t", table, flag, chain, check=False)
        before = self._before()
        if "nft_tables" in before:
            for table in NFT_TABLES:
                if table in before["nft_tables"]:  # type: ignore[operator]
                    continue
                listing = run("nft", "list", "table", *table.split(), check=False)
                rules = [
                    line
                    for line in map(str.strip, listing.stdout.splitlines())
                    if line and not line.startswith(("table ", "chain ", "type ", "}"))
                ]
                if listing.returncode == 0 and not rules:  # only the empty base chains iptables made
                    run("nft", "delete", "table", *table.split(), check=False)

    def _unmount(self) -> None:
        mounts = [line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines()]
        ours = [
            m
            for m in mounts
            if m.startswith(f"{self.dir}/") or m.startswith(("/run/netns/cni-", "/var/run/netns/cni-"))
        ]
        for mount in sorted(set(ours), reverse=True):
            if run("umount", mount, check=False).returncode != 0:
                run("umount", "-l", mount, check=False)
        for netns in Path("/run/netns").glob("cni-*") if Path("/run/netns").exists() else []:
            netns.unlink(missing_ok=True)

    def _cgroup_candidates(self) -> list[Path]:
        controllers = [p for p in CGROUP_ROOT.iterdir() if p.is_dir() and not p.is_symlink()]
        return [controller / top for controller in controllers for top in CGROUP_TOPS]

    def _cgroups_down(self, before: dict[str, object]) -> None:
        if "cgroups" not in before:  # no record of what was there: touch nothing
            return
        existed = set(before["cgroups"])  # type: ignore[call-overload]
        for top in self._cgroup_candidates():
            if str(top) in existed or not top.exists():
                continue
            for directory in sorted(
                (p for p in top.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True
            ):
                with contextlib.suppress(OSError):
                    directory.rmdir()
            with contextlib.suppress(OSError):
                top.rmdir()

    # -- helpers -------------------------------------------------------------------------------------

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "KUBECONFIG": str(self.kubeconfig),
            "PATH": f"{self.bin_dir}:{os.environ['PATH']}",
        }

    def kubectl(self, *args: str, stdin: str | None = None, timeout: float = 60) -> str:
        """Run kubectl as admin; a failure raises with its stderr."""
        result = self._kubectl(*args, stdin=stdin, timeout=timeout)
        return result.stdout

    def _kubectl(
        self, *args: str, stdin: str | None = None, check: bool = True, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        argv = [str(self.bin_dir / "kubectl"), f"--kubeconfig={self.kubeconfig}", *args]
        result = subprocess.run(
            argv, input=stdin, capture_output=True, text=True, timeout=timeout, check=False
        )
        if check and result.returncode != 0:
            raise NodeError(f"kubectl {' '.join(args)} exited {result.returncode}: {result.stderr.strip()}")
        return result

    def _kubectl_ok(self, *args: str) -> bool:
        try:
            return self._kubectl(*args, check=False, timeout=10).returncode == 0
        except subprocess.TimeoutExpired:
            return False

    def _node_ready(self) -> bool:
        result = self._kubectl(
            "get",
            "node",
            NODE_NAME,
            "-o",
            "jsonpath={.status.conditions[?(@.type=='Ready')].status}",
            check=False,
        )
        return result.stdout.strip() == "True"

    def _ctr(self, *args: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        namespace = [] if args[:1] == ("-n",) else ["-n", "k8s.io"]
        return run("ctr", "--address", str(self.socket), *namespace, *args, check=check, timeout=timeout)

    def wait_for(
        self, what: str, condition: object, *, timeout: float = 30, server: str | None = None
    ) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():  # type: ignore[operator]
                return
            if server is not None and self._pid(server) is None:
                raise NodeError(f"{server} exited while waiting for {what}\n{self.log_tail(server)}")
            time.sleep(0.3)
        raise NodeError(
            f"timed out after {timeout:.0f}s waiting for {what}\n{self.log_tail(server) if server else ''}"
        )

    def log_tail(self, name: str, lines: int = 30) -> str:
        path = self.logs / f"{name}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return f"--- last lines of {path} ---\n" + "\n".join(text.splitlines()[-lines:])

    def _start_once(self, name: str, args: list[str]) -> None:
        if self._pid(name) is None:
            self._start(name, [str(self.bin_dir / name), *args])

    def _start(self, name: str, argv: list[str], *, cwd: Path | None = None) -> None:
        with (self.logs / f"{name}.log").open("ab") as log_file:
            child = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=cwd,
            )
        self._children[name] = child
        # the pid and the binary: `down` from another process stops only that process, never a stranger
        (self.run_dir / f"{name}.pid").write_text(f"{child.pid}\n{argv[0]}\n")

    def _pid(self, name: str) -> int | None:
        pid_file = self.run_dir / f"{name}.pid"
        if not pid_file.exists():
            return None
        pid, binary = pid_file.read_text().split("\n")[:2]
        try:
            argv0 = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()
        except OSError:
            return None
        return int(pid) if argv0 == binary and processes.alive(int(pid)) else None

    def _stop(self, name: str) -> None:
        pid = self._pid(name)
        if pid is not None:
            processes.terminate(pid, self._children.pop(name, None), grace=15)
        (self.run_dir / f"{name}.pid").unlink(missing_ok=True)
