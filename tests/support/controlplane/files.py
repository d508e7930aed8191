"""The files a local control plane runs on: ports and tokens (`State`), the ServiceAccount signing key,
the token file and kubeconfigs. Used only by `tests.support.controlplane.plane`.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import socket
from dataclasses import asdict, dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


@dataclass(frozen=True)
class State:
    """What a running control plane needs to be found again by another process (`down`, `up` twice)."""

    etcd_port: int
    peer_port: int
    api_port: int
    token: str
    nobody_token: str
    controller_manager_token: str
    scheduler_token: str

    @classmethod
    def fresh(cls) -> State:
        etcd_port, peer_port, api_port = free_ports(3)
        tokens = (secrets.token_hex(16) for _ in range(4))
        return cls(etcd_port, peer_port, api_port, *tokens)

    @classmethod
    def load(cls, path: Path) -> State | None:
        return cls(**json.loads(path.read_text())) if path.exists() else None

    def save(self, path: Path) -> None:
        write_private(path, json.dumps(asdict(self), indent=2) + "\n")

    def token_file(self) -> str:
        """kube-apiserver's --token-auth-file: `token,user,uid[,"group,..."]` per line."""
        return (
            f"{self.token},admin,admin,system:masters\n{self.nobody_token},nobody,nobody\n"
            # the users the built-in RBAC policy gives the controllers' rights to
            f"{self.controller_manager_token},system:kube-controller-manager,kcm\n"
            f"{self.scheduler_token},system:kube-scheduler,scheduler\n"
        )


def free_ports(count: int) -> list[int]:
    """Loopback ports the kernel hands out right now (all held at once so that they differ)."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]


def signing_key_pem() -> str:
    """A fresh RSA key; kube-apiserver signs ServiceAccount tokens with it and verifies them with it."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return pem.decode()


def kubeconfig(*, server: str, ca_file: Path, user: str, token: str) -> str:
    """A bearer-token kubeconfig in JSON (which is YAML) that kubectl, both Python clients and kopf read.

    The CA path is absolute: kopf passes `certificate-authority` through without resolving it.
    """
    context = {"cluster": "local", "user": user, "namespace": "default"}
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "local", "cluster": {"server": server, "certificate-authority": str(ca_file)}}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": "local", "context": context}],
        "current-context": "local",
    }
    return json.dumps(config, indent=2) + "\n"


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read: most of these files hold tokens or keys."""
    path.touch(mode=0o600, exist_ok=True)
    path.write_text(text)
