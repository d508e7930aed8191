"""A real peer on the node tier: what a team does without the operator, beside the operator.

``python -m bench.peer`` (``make bench-peer``) brings up the node of tests/node/ (``down()`` first,
and always ``down()`` at the end), serves the provider sandboxes behind the node tier's TLS front on
the bridge address, installs the operator as the node tier does, and then measures two ways of
rolling back one Vector environment, one rollback at a time:

- **operator**: a RollbackRequest per environment (each created once the previous one is Ready),
  handled by the operator's Pod;
- **peer**: a Kubernetes Job per environment (each created once the previous one is Complete and
  gone), whose container (the operator's image, the only one on the node with Python, with its
  command replaced) POSTs ``/api/v1/vector/environments/{env}/rollback`` over https with a Bearer
  token from a Secret and the test CA from a ConfigMap, in a namespace that enforces the
  ``restricted`` Pod Security profile. ``ttlSecondsAfterFinished: 0`` removes each Job when done.
  The operator's Deployment is scaled to zero for this part: a team without the operator runs none.

For each it reports create → rollback received by the sandbox (the driver's clock just before the
create call against the sandbox's arrival time, recorded by ``bench.sandbox``: one machine, one
clock), create → done (``Ready=True`` / ``Complete=True`` seen by the driver's watch), and the CPU
time the node spent over the measured window per rollback, per component (``CpuMeter``), with an
idle reading of the same components just before each window. ``run_peer`` returns it all as a
plain dict; ``peer_markdown`` renders it as a section of docs/performance.md.

The parts: ``cpu`` (``CpuMeter`` and its readings of ``/proc`` and the cgroups), ``node`` (the API
server and the fronted sandboxes, as the driver sees them), ``job`` (the peer's Job), ``run`` (the
measurement: ``Run``, ``run_peer``), ``report`` (``peer_markdown``, ``table``) and ``__main__``
(the command). This module re-exports what ``bench.__main__``, ``bench.document`` and the unit
tests use.
"""

from bench.peer.cpu import COMPONENTS, Stat, cgroup_usage_ns, cpu_stat_usec, is_shim, pods_cgroup
from bench.peer.job import PEER_SCRIPT, peer_job
from bench.peer.node import write_requests
from bench.peer.report import peer_markdown, table
from bench.peer.run import PeerResults, Side, first_rollbacks, run_peer, summary

__all__ = [
    "COMPONENTS",
    "PEER_SCRIPT",
    "PeerResults",
    "Side",
    "Stat",
    "cgroup_usage_ns",
    "cpu_stat_usec",
    "first_rollbacks",
    "is_shim",
    "peer_job",
    "peer_markdown",
    "pods_cgroup",
    "run_peer",
    "summary",
    "table",
    "write_requests",
]
