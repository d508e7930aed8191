"""``python -m bench.peer`` (``make bench-peer``): measure the operator and the peer on the node once.

Prints ``table``, and with ``--markdown`` the section of docs/performance.md; ``--output`` also
writes the results as JSON. SIGTERM is turned into KeyboardInterrupt so that the node is taken down
on the way out, as on Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from types import FrameType

from bench import peer
from bench.peer.report import peer_markdown, table
from bench.peer.run import run_peer, say


def _interrupted(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.peer", description=peer.__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20, help="measured rollbacks per side (default 20)")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up rollbacks per side (default 3)")
    parser.add_argument("--idle", type=float, default=10.0, help="seconds of idle reading per side")
    parser.add_argument("--output", type=Path, help="also write the results as JSON there")
    parser.add_argument("--markdown", action="store_true", help="print the docs section too")
    parser.add_argument("--keep", action="store_true", help="keep the work directory afterwards")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _interrupted)  # `down()` runs on the way out
    workdir = Path(tempfile.mkdtemp(prefix="rollback-bench-peer-"))
    try:
        results = run_peer(workdir, rounds=args.rounds, warmup=args.warmup, idle_seconds=args.idle)
    except KeyboardInterrupt as exc:
        say(f"interrupted ({exc}); the node is down")
        return 130
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print(table(results))
    if args.markdown:
        print("\n" + peer_markdown(results))
    if args.output is not None:
        args.output.write_text(json.dumps(results, indent=1) + "\n")
        say(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
