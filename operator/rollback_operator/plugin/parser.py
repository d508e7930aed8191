"""The command line of ``kubectl rollback``: sub-commands, flags and their help.

The cluster flags (``--kubeconfig``, ``--context``, ``-n``) are declared on the top-level parser
and again on every sub-command with a suppressed default, so that they work on either side of the
sub-command without one copy overwriting the other. Used by ``cli.py``.
"""

from __future__ import annotations

import argparse

from rollback_operator.fields import DEFAULT_TIMEOUT_SECONDS, STEPS_BACK_MAX
from rollback_operator.plugin.follow import WATCH_SECONDS
from rollback_operator.retention import parse_duration

PROVIDERS = ("facets", "vector", "yandexServerlessContainer")


def duration(text: str) -> float:
    """An argparse type: ``30m``, ``2h``, ``1d`` or seconds."""
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


EPILOG = """exit codes: 0 done (with --wait/-w: the rollback succeeded), 1 the rollback failed or ended
Unknown, or the API server refused; 2 usage error (nothing was sent); 130 Ctrl-C while watching."""


def _cluster_flags(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    default = argparse.SUPPRESS if suppress else None
    group = parser.add_argument_group("cluster")
    group.add_argument(
        "--kubeconfig", default=default, metavar="PATH", help="kubeconfig file (default: $KUBECONFIG)"
    )
    group.add_argument("--context", default=default, help="kubeconfig context (default: the current one)")
    group.add_argument("-n", "--namespace", default=default, help="namespace (default: the context's)")


def _watch_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--watch-timeout",
        type=int,
        default=WATCH_SECONDS,
        metavar="SECONDS",
        help=f"how long one watch request lasts before it is re-opened (default {WATCH_SECONDS})",
    )


def _request_flags(parser: argparse.ArgumentParser) -> None:
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument(
        "--steps-back",
        type=int,
        metavar="N",
        help=f"roll back to the version live N versions ago (1..{STEPS_BACK_MAX})",
    )
    target.add_argument("--to", metavar="VERSION", help="roll back to this exact version")
    parser.add_argument("--reason", required=True, help="why (copied into events; 1..1024 characters)")
    parser.add_argument(
        "--secret",
        required=True,
        metavar="NAME",
        help="the Secret in the same namespace holding the provider credentials",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="resolve and report the target; never roll back"
    )
    parser.add_argument("--expected-current", metavar="VERSION", help="fail unless this version is live")
    parser.add_argument(
        "--timeout-seconds",
        type=int,
        metavar="S",
        help=f"from the trigger to a final provider state (default {DEFAULT_TIMEOUT_SECONDS})",
    )
    parser.add_argument(
        "--require-approval",
        action="store_true",
        help="resolve, then wait for a RollbackApproval before sending anything (kubectl rollback approve)",
    )
    parser.add_argument(
        "--expires-in",
        type=duration,
        metavar="DURATION",
        help="give up (Expired, nothing sent) unless the rollback starts within this long, e.g. 30m, 2h",
    )
    parser.add_argument("--name", help="the request's name (default: generated, <provider>-<id>-<random>)")
    parser.add_argument("--wait", action="store_true", help="follow the request until it ends")
    _watch_flag(parser)


def _provider_parsers(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
) -> list[argparse.ArgumentParser]:
    vector = sub.add_parser("vector", help="roll a Vector Pro environment back", epilog=EPILOG)
    vector.add_argument("environment_id", metavar="ENV_ID", help="the Vector Pro environment ID")
    vector.add_argument(
        "--api-url", metavar="URL", help="Vector Pro API base URL (default https://api.builtfast.com)"
    )
    facets = sub.add_parser("facets", help="roll a Facets.cloud resource back", epilog=EPILOG)
    facets.add_argument(
        "--environment", required=True, metavar="ID", help="the environment (Facets clusterId)"
    )
    facets.add_argument("--resource-type", required=True, metavar="T", help="the resource type, e.g. service")
    facets.add_argument("--resource-name", required=True, metavar="N", help="the resource name")
    facets.add_argument(
        "--control-plane-url", required=True, metavar="URL", help="your Facets control plane URL"
    )
    yandex = sub.add_parser("yandex", help="roll a Yandex Cloud Serverless Container back", epilog=EPILOG)
    yandex.add_argument("container_id", metavar="CONTAINER_ID", help="the Serverless Container ID")
    yandex.add_argument("--api-url", metavar="URL", help="Serverless Containers API base URL")
    yandex.add_argument("--operations-url", metavar="URL", help="Operation service base URL")
    yandex.add_argument("--iam-url", metavar="URL", help="IAM API base URL")
    return [vector, facets, yandex]


def build_parser() -> argparse.ArgumentParser:
    """The whole command line."""
    parser = argparse.ArgumentParser(
        prog="kubectl rollback",
        description="Create and follow RollbackRequests (rollback.dev).",
        epilog=EPILOG,
    )
    _cluster_flags(parser, suppress=False)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for provider in _provider_parsers(sub):
        _request_flags(provider)
    status = sub.add_parser("status", help="summarise one request", epilog=EPILOG)
    status.add_argument("name", metavar="NAME")
    status.add_argument("-w", "--watch", action="store_true", help="follow the request until it ends")
    _watch_flag(status)
    listing = sub.add_parser("list", help="list requests")
    listing.add_argument("-A", "--all-namespaces", action="store_true", help="list every namespace")
    past = sub.add_parser("history", help="the cluster's rollback history (RollbackRecords)")
    past.add_argument("--provider", choices=PROVIDERS, help="only rollbacks through this provider")
    past.add_argument(
        "-A", "--all-namespaces", action="store_true", help="every namespace (the default without -n)"
    )
    shown = sub.add_parser("plan", help="show what a request would roll back, and its approval state")
    shown.add_argument("name", metavar="NAME")
    for verb, what in (
        ("approve", "approve the plan of a request awaiting approval"),
        ("reject", "reject it"),
    ):
        decision = sub.add_parser(verb, help=what, epilog=EPILOG)
        decision.add_argument("name", metavar="NAME")
        decision.add_argument("--comment", help="why, for the audit trail (at most 1024 characters)")
        decision.add_argument("--wait", action="store_true", help="follow the request until it ends")
        _watch_flag(decision)
    for name, child in sub.choices.items():
        _cluster_flags(child, suppress=True)
        child.set_defaults(parser=child, command=name)
    parser.set_defaults(parser=parser)
    return parser
