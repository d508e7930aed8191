"""`ControlPlane`: etcd, kube-apiserver, kube-controller-manager and kube-scheduler on loopback, with an
admin and a `nobody` user.

Used by the pytest fixtures in tests/conftest.py, by the command line in `__main__` and by the demo
and the benchmarks. See the package docstring for what the servers can and cannot do.
"""

from __future__ import annotations

import http.client
import logging
import os
import shutil
import ssl
import subprocess
import time
from pathlib import Path

from tests.support.controlplane import files, processes

log = logging.getLogger(__name__)

READY_TIMEOUT = 90.0
# stop order: the controllers first, then the API server, its storage last
_CONTROLLERS = ("kube-scheduler", "kube-controller-manager")
_SERVERS = (*_CONTROLLERS, "kube-apiserver", "etcd")
_SERVER_FILES = tuple(f"{server}.{ext}" for server in _SERVERS for ext in ("pid", "log"))
_OWN_FILES = ("state.json", "tokens.csv", "sa.key", "kubeconfig", *_SERVER_FILES)
_CONTROLLER_USERS = {
    "kube-controller-manager": "system:kube-controller-manager",
    "kube-scheduler": "system:kube-scheduler",
}


class ControlPlaneError(RuntimeError):
    """The control plane did not start, or kubectl failed; the message carries the relevant log."""


class ControlPlane:
    """etcd + kube-apiserver in `workdir`, run from the binaries in `bin_dir`.

    With `die_with_parent` (the default) the kernel SIGKILLs a server when the thread that started it
    ends, which covers a SIGKILLed test run; so call `start` and `start_apiserver` from a thread that
    lives as long as the process (the main one). The command line turns it off so that `up` can return.
    """

    def __init__(
        self, workdir: Path, bin_dir: Path, *, die_with_parent: bool = True, profiling: bool = False
    ) -> None:
        self.workdir = workdir.resolve()
        self.bin_dir = bin_dir.resolve()
        self.die_with_parent = die_with_parent
        self.profiling = profiling  # the API server's /debug/pprof, for the benchmark
        self.kubeconfig = self.workdir / "kubeconfig"
        self.nobody_kubeconfig = self.workdir / "kubeconfig-nobody"
        self.ca_file = self.workdir / "pki" / "apiserver.crt"  # the server's self-signed certificate
        self.ready_seconds: float | None = None
        self._children: dict[str, subprocess.Popen[bytes]] = {}
        self._state = files.State.load(self.workdir / "state.json")

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self._require_state().api_port}"

    @property
    def token(self) -> str:
        """The admin's bearer token (group system:masters: every request is allowed)."""
        return self._require_state().token

    @property
    def nobody_token(self) -> str:
        """The bearer token of `nobody`, who is authenticated but has no RBAC rights."""
        return self._require_state().nobody_token

    def start(self) -> None:
        """Start from empty storage and return once the API server serves the `default` namespace and
        the controller manager has made its `default` ServiceAccount."""
        self._check_binaries()
        self.stop()  # leftovers of an earlier run in the same directory would hold the files
        self.purge()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._state = files.State.fresh()
        self._write_config_files()
        began = time.monotonic()
        try:
            self._launch("etcd", self._etcd_argv())
            self.start_apiserver()
            for name in _CONTROLLERS:
                self._launch(name, self._controller_argv(name))
            self._wait_for("/api/v1/namespaces/default/serviceaccounts/default", "kube-controller-manager")
        except BaseException:  # a failed start or a Ctrl-C: a half-started server has nothing to save
            self.stop(grace=0)
            raise
        self.ready_seconds = time.monotonic() - began
        log.info("control plane at %s ready in %.1fs", self.server, self.ready_seconds)

    def stop(self, *, grace: float = processes.STOP_GRACE) -> None:
        """Stop both servers and drop the etcd data; logs and kubeconfigs stay for post-mortems.

        Each server gets `grace` seconds to exit after SIGTERM before it is killed.
        """
        for name in _SERVERS:
            self._stop_server(name, grace=grace)
        shutil.rmtree(self.workdir / "etcd", ignore_errors=True)

    def stop_apiserver(self) -> None:
        """Stop only kube-apiserver; etcd keeps running with its data."""
        self._stop_server("kube-apiserver")

    def start_apiserver(self) -> None:
        """(Re)start kube-apiserver on the same port and certificate, and wait until it is ready."""
        self._launch("kube-apiserver", self._apiserver_argv())
        self._wait_ready()

    def purge(self) -> None:
        """Remove every file this class writes into the work directory (call after `stop`)."""
        for name in _OWN_FILES:
            (self.workdir / name).unlink(missing_ok=True)
        for kubeconfig in self.workdir.glob("kubeconfig-*"):
            kubeconfig.unlink()
        for directory in ("etcd", "pki", "flex"):
            shutil.rmtree(self.workdir / directory, ignore_errors=True)
        if self.workdir.is_dir() and not any(self.workdir.iterdir()):
            self.workdir.rmdir()  # only when nothing else lives there
        self._state = None

    def running(self) -> bool:
        """Whether both servers recorded in the work directory are alive (from any process)."""
        return self._state is not None and all(self._server_pid(name) for name in _SERVERS)

    def env(self) -> dict[str, str]:
        """os.environ with KUBECONFIG pointing here and the built binaries first on PATH."""
        path = f"{self.bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"
        return {**os.environ, "KUBECONFIG": str(self.kubeconfig), "PATH": path}

    def kubectl(
        self, *args: str, input: str | None = None, check: bool = True, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        """Run the built kubectl as admin; with `check`, a failure raises with kubectl's stderr."""
        argv = [str(self.bin_dir / "kubectl"), *args]
        result = subprocess.run(
            argv, input=input, env=self.env(), capture_output=True, text=True, timeout=timeout
        )
        if check and result.returncode != 0:
            raise ControlPlaneError(f"kubectl {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
        return result

    def kubeconfig_for(self, token: str, user: str) -> Path:
        """Write a kubeconfig that authenticates with `token` (e.g. a ServiceAccount token)."""
        safe_name = "".join(char if char.isalnum() or char in "-_." else "_" for char in user)
        path = self.workdir / f"kubeconfig-{safe_name}"
        config = files.kubeconfig(server=self.server, ca_file=self.ca_file, user=user, token=token)
        files.write_private(path, config)
        return path

    def _require_state(self) -> files.State:
        if self._state is None:
            raise ControlPlaneError(f"no control plane has been started in {self.workdir}")
        return self._state

    def _check_binaries(self) -> None:
        missing = [name for name in (*_SERVERS, "kubectl") if not (self.bin_dir / name).is_file()]
        if missing:
            hint = "run tests/controlplane/build.sh"
            raise ControlPlaneError(f"{', '.join(missing)} missing in {self.bin_dir}: {hint}")

    def _write_config_files(self) -> None:
        state = self._require_state()
        state.save(self.workdir / "state.json")
        files.write_private(self.workdir / "tokens.csv", state.token_file())
        files.write_private(self.workdir / "sa.key", files.signing_key_pem())
        admin = files.kubeconfig(server=self.server, ca_file=self.ca_file, user="admin", token=state.token)
        files.write_private(self.kubeconfig, admin)
        self.kubeconfig_for(state.nobody_token, "nobody")

    def _etcd_argv(self) -> list[str]:
        state = self._require_state()
        client_url = f"http://127.0.0.1:{state.etcd_port}"
        return [
            str(self.bin_dir / "etcd"),
            f"--data-dir={self.workdir / 'etcd'}",
            f"--listen-client-urls={client_url}",
            f"--advertise-client-urls={client_url}",
            f"--listen-peer-urls=http://127.0.0.1:{state.peer_port}",
            "--unsafe-no-fsync",  # test data: durability costs start time and buys nothing
            "--log-level=warn",
        ]

    def _apiserver_argv(self) -> list[str]:
        state, sa_key = self._require_state(), self.workdir / "sa.key"
        return [
            str(self.bin_dir / "kube-apiserver"),
            f"--etcd-servers=http://127.0.0.1:{state.etcd_port}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",  # else it looks for a default route, which may not exist
            f"--secure-port={state.api_port}",
            f"--cert-dir={self.ca_file.parent}",
            "--service-cluster-ip-range=10.0.0.0/24",
            f"--service-account-issuer={self.server}",
            f"--service-account-key-file={sa_key}",
            f"--service-account-signing-key-file={sa_key}",
            f"--token-auth-file={self.workdir / 'tokens.csv'}",
            "--authorization-mode=RBAC",
            "--allow-privileged=true",
            "--endpoint-reconciler-type=none",
            "--enable-priority-and-fairness=false",
            f"--profiling={str(self.profiling).lower()}",
        ]

    def _controller_argv(self, name: str) -> list[str]:
        """kube-controller-manager or kube-scheduler, as the user the built-in RBAC policy names."""
        state = self._require_state()
        token = state.controller_manager_token if name == "kube-controller-manager" else state.scheduler_token
        kubeconfig = self.kubeconfig_for(token, _CONTROLLER_USERS[name])
        argv = [
            str(self.bin_dir / name),
            f"--kubeconfig={kubeconfig}",
            "--leader-elect=false",
            "--secure-port=0",  # no health or metrics server: no port to collide with another plane
            "--profiling=false",
        ]
        if name == "kube-controller-manager":
            argv += [
                "--use-service-account-credentials=true",  # each controller with its own rights
                f"--service-account-private-key-file={self.workdir / 'sa.key'}",
                f"--root-ca-file={self.ca_file}",  # the ca.crt of every ServiceAccount token volume
                "--service-cluster-ip-range=10.0.0.0/24",
                f"--flex-volume-plugin-dir={self.workdir / 'flex'}",  # it creates it: keep it here
            ]
        return argv

    def _launch(self, name: str, argv: list[str]) -> None:
        log_path = self.workdir / f"{name}.log"
        child = processes.spawn(argv, log_path=log_path, die_with_parent=self.die_with_parent)
        self._children[name] = child
        (self.workdir / f"{name}.pid").write_text(f"{child.pid}\n")

    def _wait_ready(self) -> None:
        self._wait_for("/readyz", "kube-apiserver")
        self._wait_for("/api/v1/namespaces/default", "kube-apiserver")

    def _wait_for(self, path: str, server: str) -> None:
        """Until GET `path` answers 200; `server` is the one whose log explains a timeout."""
        deadline = time.monotonic() + READY_TIMEOUT
        while not self._serves(path):
            for name, child in self._children.items():
                if child.poll() is not None:
                    raise ControlPlaneError(f"{name} exited with {child.returncode}\n{self._log_tail(name)}")
            if time.monotonic() > deadline:
                tail = self._log_tail(server)
                raise ControlPlaneError(f"{path} not served after {READY_TIMEOUT:.0f}s\n{tail}")
            time.sleep(0.2)

    def _serves(self, path: str) -> bool:
        """Whether GET `path` answers 200 to the admin; failing to connect counts as "not yet"."""
        if not self.ca_file.exists():
            return False  # the server writes its certificate before it listens
        try:
            context = ssl.create_default_context(cafile=self.ca_file)
            port = self._require_state().api_port
            connection = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=5)
            try:
                connection.request("GET", path, headers={"Authorization": f"Bearer {self.token}"})
                return connection.getresponse().status == 200
            finally:
                connection.close()
        except (OSError, http.client.HTTPException):  # refused, reset, or a half-written certificate
            return False

    def _log_tail(self, name: str, lines: int = 40) -> str:
        path = self.workdir / f"{name}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return f"--- last lines of {path} ---\n" + "\n".join(text.splitlines()[-lines:])

    def _server_pid(self, name: str) -> int | None:
        return processes.running_pid(self.workdir / f"{name}.pid", self.bin_dir / name)

    def _stop_server(self, name: str, *, grace: float = processes.STOP_GRACE) -> None:
        child = self._children.pop(name, None)
        pid = child.pid if child is not None else self._server_pid(name)
        if pid is not None:
            processes.terminate(pid, child, grace=grace)
        (self.workdir / f"{name}.pid").unlink(missing_ok=True)
