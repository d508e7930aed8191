"""The ``rollback-operator`` command: ``run`` the operator, or serve the provider ``sandbox``.

``run`` connects with the in-cluster config or the current kubeconfig, watches the given
namespaces (or all), serves liveness at ``/healthz`` and Prometheus metrics at ``/metrics``, and
logs as text or JSON. kopf's own choices (standalone, own annotation prefix, no scanning) are
made in ``handlers.py``.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import ssl
import sys
from collections.abc import Sequence

from rollback_operator import __version__
from rollback_operator.config import (
    ENV_CA_BUNDLE,
    Settings,
    Timing,
    allowed_endpoints,
    default_identity,
    provider_tls,
)
from rollback_operator.retention import parse_duration
from rollback_operator.text import escape_logs

TIMING_FIELDS = tuple(field.name for field in dataclasses.fields(Timing))
"""Every ``Timing`` setting, each a ``--flag`` of ``run``."""


def _run_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = sub.add_parser("run", help="run the operator against the current cluster")
    scope = run.add_mutually_exclusive_group()
    scope.add_argument(
        "-n", "--namespace", action="append", default=[], help="watch this namespace (repeatable)"
    )
    scope.add_argument("-A", "--all-namespaces", action="store_true", help="watch every namespace (default)")
    run.add_argument(
        "--allowed-endpoint",
        action="append",
        default=[],
        metavar="URL",
        help="also allow provider URLs under this prefix (repeatable)",
    )
    run.add_argument(
        "--ca-bundle",
        metavar="FILE",
        default=None,
        help=f"also trust the CA certificates in this PEM file for provider calls (${ENV_CA_BUNDLE})",
    )
    run.add_argument("--log-format", choices=["plain", "json"], default="plain")
    run.add_argument("-v", "--verbose", action="store_true")
    run.add_argument("--health-address", default="0.0.0.0", help="bind address of /healthz and /metrics")  # noqa: S104
    run.add_argument("--health-port", type=int, default=8080, help="port of /healthz")
    run.add_argument("--metrics-port", type=int, default=9090, help="port of /metrics (0: off)")
    run.add_argument(
        "--ready-port", type=int, default=8081, help="port of /readyz: 503 while a CRD is missing (0: off)"
    )
    run.add_argument(
        "--identity", default=None, help="this instance's name in claims (default: host/pid/random)"
    )
    run.add_argument("--max-concurrent", type=int, default=200, help="requests worked on at once")
    run.add_argument(
        "--record-retention",
        type=parse_duration,
        default="90d",
        metavar="DURATION",
        help="keep RollbackRecords this long after they end, then delete them (default 90d; e.g. 12h)",
    )
    run.add_argument(
        "--allow-self-approval",
        action="store_true",
        help="let the requester of a rollback approve it too (default: refused)",
    )
    run.add_argument(
        "--max-response-bytes",
        type=int,
        default=Settings.max_response_bytes,
        help="the largest provider answer read; a larger one fails the call (default 4 MiB)",
    )
    timing = run.add_argument_group("timing (seconds)")
    defaults = Timing()
    for name in TIMING_FIELDS:
        timing.add_argument(f"--{name.replace('_', '-')}", type=float, default=getattr(defaults, name))


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(prog="rollback-operator", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=__version__)
    sub = parser.add_subparsers(dest="command", required=True)
    _run_parser(sub)
    sandbox = sub.add_parser("sandbox", help="serve local sandboxes of the three provider APIs")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--facets-port", type=int, default=8701)
    sandbox.add_argument("--vector-port", type=int, default=8702)
    sandbox.add_argument("--yandex-port", type=int, default=8703)
    sandbox.add_argument(
        "--scheme",
        choices=("http", "https"),
        default="http",
        help="the scheme clients use: https behind a TLS front (links in answers say it)",
    )
    return parser.parse_args(argv)


def settings_from(args: argparse.Namespace) -> Settings:
    """The reconciler's settings from the ``run`` arguments."""
    timing = Timing(**{name: getattr(args, name) for name in TIMING_FIELDS})
    return Settings(
        identity=args.identity or default_identity(),
        allowed=allowed_endpoints(args.allowed_endpoint),
        timing=timing,
        max_concurrent=args.max_concurrent,
        ready_address=args.health_address,
        ready_port=args.ready_port,
        record_retention=args.record_retention,
        allow_self_approval=args.allow_self_approval,
        max_response_bytes=args.max_response_bytes,
    )


def configure_logging(*, log_format: str, verbose: bool) -> None:
    """kopf's plain or JSON log format, quieter libraries, and control characters escaped."""
    import kopf

    kopf.configure(
        verbose=verbose, log_format=kopf.LogFormat.JSON if log_format == "json" else kopf.LogFormat.PLAIN
    )
    escape_logs()  # a newline in a spec's reason must not forge a log line, nor ESC reach a terminal
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    if not verbose:  # kopf logs every watch event, httpx every request, at INFO: --verbose only
        logging.getLogger("kopf.objects").setLevel(logging.WARNING)
        logging.getLogger("httpx").setLevel(logging.WARNING)


def run_operator(args: argparse.Namespace) -> int:
    """Run kopf with our handlers until SIGTERM/SIGINT."""
    import kopf
    import prometheus_client
    from kopf._cogs.structs.references import Insights  # kept to re-scan a re-created CRD (handlers.py)

    from rollback_operator import handlers  # noqa: F401 - registers the handlers

    if args.ca_bundle:  # the provider clients read it from the environment (config.provider_tls)
        os.environ[ENV_CA_BUNDLE] = args.ca_bundle
    try:
        provider_tls()  # a wrong bundle stops the operator here, not every request later
    except (OSError, ssl.SSLError) as exc:
        print(
            f"rollback-operator: cannot load the CA bundle {os.environ[ENV_CA_BUNDLE]}: {exc}",
            file=sys.stderr,
        )
        return 2
    settings = settings_from(args)

    configure_logging(log_format=args.log_format, verbose=args.verbose)
    insights = Insights()
    if args.metrics_port:
        prometheus_client.start_http_server(args.metrics_port, addr=args.health_address)
    kopf.run(
        standalone=True,
        # kopf would otherwise name itself after getpass.getuser(), which raises KeyError for a uid
        # without a passwd entry, as the image's 65532 is: our own identity (host/pid/random) instead
        identity=settings.identity,  # type: ignore[arg-type]  # kopf's Identity is a NewType of str
        clusterwide=not args.namespace,
        namespaces=args.namespace,
        liveness_endpoint=f"http://{args.health_address}:{args.health_port}/healthz",
        memo=kopf.Memo(settings=settings, namespaces=list(args.namespace), insights=insights),
        insights=insights,
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``rollback-operator`` console script."""
    args = parse(argv)
    if args.command == "run":
        return run_operator(args)
    return run_sandboxes(args)


def run_sandboxes(args: argparse.Namespace) -> int:
    """Serve the provider sandboxes, a separate package that the operator itself never imports."""
    try:
        from rollback_sandbox.serve import serve
    except ImportError:  # the operator image ships without it
        print(
            "rollback-operator sandbox: the rollback_sandbox package is not installed here", file=sys.stderr
        )
        return 2
    return serve(
        host=args.host,
        ports={"facets": args.facets_port, "vector": args.vector_port, "yandex": args.yandex_port},
        scheme=args.scheme,
    )


if __name__ == "__main__":
    sys.exit(main())
