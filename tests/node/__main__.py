"""``python -m tests.node up|down [--dir DIR]``: the node of tests/node/node.py, from the command line.

``up`` prints ``export KUBECONFIG=<path>`` (progress goes to stderr); ``down`` undoes everything.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from tests.node.node import NODE_DIR, Node, NodeError


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.node", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("up", "down"))
    parser.add_argument("--dir", type=Path, default=NODE_DIR)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    node = Node(args.dir)
    if args.command == "down":
        node.down()
        return 0
    try:
        node.up()
    except NodeError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"export KUBECONFIG={node.kubeconfig}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
