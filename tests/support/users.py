"""People in a test control plane: API clients that act as a named user, bound to the shipped roles.

The admin of the test control plane may impersonate anyone: a client with ``Impersonate-User`` is,
to the API server, that user (``request.userInfo.username``), authorized by that user's own
RoleBindings. ``People`` binds ``deploy/roles``' ClusterRoles in one namespace (requesters and
approvers) and hands out clients, so tests prove both RBAC and the admission policies with
distinct identities.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import kubernetes

from tests.support.controlplane import ControlPlane


class People:
    """Users of one namespace: ``requesters`` may create requests, ``approvers`` may approve."""

    def __init__(self, cluster: ControlPlane, namespace: str) -> None:
        self.cluster, self.namespace = cluster, namespace

    def bind(self, user: str, role: str) -> None:
        """Grant ``user`` the ClusterRole ``role`` in this namespace."""
        name = f"{user}-{role}".replace("@", "-").replace(".", "-")
        self.cluster.kubectl(
            "create", "rolebinding", name, f"--clusterrole={role}", f"--user={user}", "-n", self.namespace
        )

    @contextmanager
    def client(self, user: str) -> Iterator[kubernetes.client.ApiClient]:
        """An API client that acts as ``user``."""
        api = kubernetes.config.new_client_from_config(config_file=str(self.cluster.kubeconfig))
        api.set_default_header("Impersonate-User", user)
        try:
            yield api
        finally:
            api.close()
