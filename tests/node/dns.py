"""The node's cluster DNS: answers ``<service>.<namespace>.svc.cluster.local`` with the Service's
ClusterIP, looked up in the API server; ``python -m tests.node.dns --listen IP --kubeconfig FILE``.

A stand-in for CoreDNS (which costs ~2 minutes to build) that does the one thing Pods here need:
kopf logs in through ``https://kubernetes.default.svc``. The kubelet points every Pod's resolv.conf at
it (``clusterDNS``). It forwards nothing: any other name gets NXDOMAIN, so no query leaves the node.
Standard library only, UDP, A records (AAAA and other types of a known name: no data).
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import socket
import ssl
import struct
import time
import urllib.error
import urllib.request
from pathlib import Path

DOMAIN = ("svc", "cluster", "local")
TTL = 5
NOERROR, NXDOMAIN, FORMERR = 0, 3, 1
TYPE_A, CLASS_IN = 1, 1


class Services:
    """ClusterIPs from the API server, each remembered for a moment (Pods ask several names at once)."""

    def __init__(self, kubeconfig: Path) -> None:
        config = json.loads(kubeconfig.read_text())
        cluster, user = config["clusters"][0]["cluster"], config["users"][0]["user"]
        self.server, self.token = cluster["server"], user["token"]
        self.context = ssl.create_default_context(cafile=cluster["certificate-authority"])
        self.cache: dict[tuple[str, str], tuple[float, str | None]] = {}

    def cluster_ip(self, namespace: str, name: str) -> str | None:
        key = (namespace, name)
        hit = self.cache.get(key)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        request = urllib.request.Request(  # noqa: S310 - https to the node's own API server
            f"{self.server}/api/v1/namespaces/{namespace}/services/{name}",
            headers={"Authorization": f"Bearer {self.token}"},
        )
        try:
            with urllib.request.urlopen(request, context=self.context, timeout=3) as response:  # noqa: S310
                ip = json.load(response)["spec"].get("clusterIP")
        except urllib.error.HTTPError as exc:
            if exc.code != 404:
                raise
            ip = None
        ip = ip if ip and ip != "None" else None
        self.cache[key] = (time.monotonic() + 1.0, ip)
        return ip


def parse_question(packet: bytes) -> tuple[int, int, list[str], int, int, int]:
    """(id, flags, labels, qtype, qclass, end of the question) of a query with one question."""
    ident, flags, qdcount = struct.unpack("!HHH", packet[:6])
    if qdcount != 1:
        raise ValueError("one question expected")
    labels, offset = [], 12
    while packet[offset]:
        length = packet[offset]
        labels.append(packet[offset + 1 : offset + 1 + length].decode("ascii").lower())
        offset += 1 + length
    qtype, qclass = struct.unpack("!HH", packet[offset + 1 : offset + 5])
    return ident, flags, labels, qtype, qclass, offset + 5


def answer(packet: bytes, services: Services) -> bytes:
    try:
        ident, flags, labels, qtype, qclass, end = parse_question(packet)
    except (ValueError, IndexError, struct.error, UnicodeDecodeError):
        return packet[:2] + struct.pack("!HHHHH", 0x8000 | FORMERR, 0, 0, 0, 0)
    question = packet[12:end]
    rcode, records = NXDOMAIN, b""
    if len(labels) == 5 and tuple(labels[2:]) == DOMAIN and qclass == CLASS_IN:
        ip = services.cluster_ip(labels[1], labels[0])
        if ip is not None:
            rcode = NOERROR
            if qtype == TYPE_A:
                address = ipaddress.IPv4Address(ip).packed
                records = struct.pack("!HHHIH", 0xC00C, TYPE_A, CLASS_IN, TTL, 4) + address
    count = 1 if records else 0
    # QR, the query's opcode and RD, AA (we are the authority for cluster.local), RA off
    reply_flags = 0x8000 | (flags & 0x7900) | 0x0400 | rcode
    return struct.pack("!HHHHHH", ident, reply_flags, 1, count, 0, 0) + question + records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", required=True, help="the address Pods reach (the node's bridge)")
    parser.add_argument("--port", type=int, default=53)
    parser.add_argument("--kubeconfig", type=Path, required=True)
    args = parser.parse_args()
    services = Services(args.kubeconfig)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((args.listen, args.port))
        print(f"cluster DNS on {args.listen}:{args.port}", flush=True)
        while True:
            packet, client = sock.recvfrom(512)
            try:
                reply = answer(packet, services)
            except (OSError, ValueError, KeyError) as exc:  # the API server is away: SERVFAIL
                print(f"lookup failed: {exc}", flush=True)
                reply = packet[:2] + struct.pack("!HHHHH", 0x8002, 0, 0, 0, 0)
            sock.sendto(reply, client)


if __name__ == "__main__":
    main()
