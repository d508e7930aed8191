"""The command line behind `make cluster` / `make cluster-down`: a control plane that outlives the call.

`up` starts the control plane in the background (or finds them running), then prints exactly one
line, `export KUBECONFIG=<path>`, so that `eval "$(python -m tests.support.controlplane up --dir D)"`
works; progress goes to stderr. `down` stops them and removes the directory's state.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from tests.support.controlplane import BIN_DIR, ControlPlane, ControlPlaneError


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.support.controlplane",
        description="Run etcd, kube-apiserver, kube-controller-manager and kube-scheduler in the background.",
    )
    parser.add_argument("command", choices=("up", "down"))
    parser.add_argument("--dir", type=Path, required=True, help="state, logs and kubeconfig live here")
    parser.add_argument("--bin-dir", type=Path, default=BIN_DIR, help="where build.sh put the binaries")
    args = parser.parse_args(argv)
    plane = ControlPlane(args.dir, args.bin_dir, die_with_parent=False)
    if args.command == "down":
        plane.stop()
        plane.purge()
    elif not plane.running():
        try:
            plane.start()
        except ControlPlaneError as exc:
            print(exc, file=sys.stderr)
            return 1
        print(f"control plane at {plane.server} ready in {plane.ready_seconds:.1f}s", file=sys.stderr)
    if args.command == "up":
        print(f"export KUBECONFIG={plane.kubeconfig}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
