"""``kubectl rollback``: create RollbackRequests, follow them, summarise and list them.

Sub-commands: ``vector``, ``facets`` and ``yandex`` create a request (and with ``--wait`` follow it
to its end); ``status NAME`` summarises one (``-w`` follows it); ``list`` tables them; ``history``
tables the RollbackRecords (every rollback the cluster ran, by whom, how it ended); ``plan NAME``
shows what a request would do; ``approve``/``reject NAME`` decide on a plan that awaits approval. The cluster
flags ``--kubeconfig``, ``--context`` and ``-n`` are accepted before or after the sub-command,
because kubectl hands a plugin its arguments untouched. Flags are checked against the operator's
own models before anything is sent, so a mistake names its flag and exits 2; whatever the API
server refuses is shown in its own words. Entry point of the ``kubectl-rollback`` console script.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Coroutine, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from rollback_operator.approval import Decision
from rollback_operator.plugin.decide import approval, plan
from rollback_operator.plugin.describe import describe
from rollback_operator.plugin.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, PluginError
from rollback_operator.plugin.follow import follow
from rollback_operator.plugin.parser import build_parser
from rollback_operator.plugin.show import history, table
from rollback_operator.plugin.spec import build_manifest

if TYPE_CHECKING:
    from rollback_operator.plugin.cluster import Cluster

Work = Coroutine[Any, Any, int]


def _connect(args: argparse.Namespace) -> AbstractAsyncContextManager[Cluster]:
    # Imported here: kubernetes_asyncio takes seconds to import, and --help or a usage error need none of it.
    try:
        from rollback_operator.plugin.cluster import Cluster
    except ModuleNotFoundError as exc:  # the operator's image leaves the plugin's client out
        raise PluginError(
            f"the kubectl plugin needs the package's plugin extra ({exc.name} is missing): "
            "pip install 'rollback-operator[plugin]'"
        ) from exc

    return Cluster.connect(kubeconfig=args.kubeconfig, context=args.context, namespace=args.namespace)


async def _create(args: argparse.Namespace, manifest: dict[str, Any]) -> int:
    async with _connect(args) as cluster:
        created = await cluster.create(manifest)
        name = created["metadata"]["name"]
        print(name, flush=True)
        print(
            f"rollbackrequest.rollback.dev/{name} created in namespace {cluster.namespace}", file=sys.stderr
        )
        if not args.wait:
            return EXIT_OK
        return await follow(cluster, created, watch_seconds=args.watch_timeout)


def create(args: argparse.Namespace) -> Work:
    """``vector`` / ``facets`` / ``yandex``: validate first (usage errors never reach the cluster)."""
    return _create(args, build_manifest(args))


async def _status(args: argparse.Namespace) -> int:
    async with _connect(args) as cluster:
        obj = await cluster.get(args.name)
        print(describe(obj, await cluster.events(obj), now=datetime.now(UTC)), flush=True)
        if not args.watch:
            return EXIT_OK
        print(flush=True)
        return await follow(cluster, obj, watch_seconds=args.watch_timeout)


def status(args: argparse.Namespace) -> Work:
    """``status NAME [-w]``."""
    return _status(args)


async def _list(args: argparse.Namespace) -> int:
    async with _connect(args) as cluster:
        objs = await cluster.list_requests(all_namespaces=args.all_namespaces)
        if not objs:
            where = "any namespace" if args.all_namespaces else f"{cluster.namespace} namespace"
            print(f"No resources found in {where}.", file=sys.stderr)
            return EXIT_OK
        print(table(objs, all_namespaces=args.all_namespaces, now=datetime.now(UTC)), flush=True)
        return EXIT_OK


def list_(args: argparse.Namespace) -> Work:
    """``list [-A]``."""
    return _list(args)


async def _history(args: argparse.Namespace) -> int:
    async with _connect(args) as cluster:
        namespace = None if args.all_namespaces else args.namespace
        records = await cluster.list_records(namespace=namespace, provider=args.provider)
        if not records:
            print("No rollbacks recorded.", file=sys.stderr)
            return EXIT_OK
        print(history(records, now=datetime.now(UTC)), flush=True)
        return EXIT_OK


def history_(args: argparse.Namespace) -> Work:
    """``history [-n NS] [--provider P]``: the RollbackRecords."""
    return _history(args)


async def _plan(args: argparse.Namespace) -> int:
    async with _connect(args) as cluster:
        print(plan(await cluster.get(args.name)), flush=True)
        return EXIT_OK


def plan_(args: argparse.Namespace) -> Work:
    """``plan NAME``: what the request would do, and whether it waits for an approval."""
    return _plan(args)


async def _decide(args: argparse.Namespace) -> int:
    decision = Decision.APPROVE if args.command == "approve" else Decision.REJECT
    async with _connect(args) as cluster:
        obj = await cluster.get(args.name)
        body = approval(obj, decision=decision, user=await cluster.whoami(), comment=args.comment)
        created = await cluster.approve(body)
        print(created["metadata"]["name"], flush=True)
        plan_text = f"{body['spec']['from']} -> {body['spec']['to']}"
        print(
            f"{decision.value.lower()}d {args.name}: {plan_text} as {body['spec']['approvedBy']}",
            file=sys.stderr,
        )
        if not args.wait:
            return EXIT_OK
        return await follow(cluster, obj, watch_seconds=args.watch_timeout)


def decide(args: argparse.Namespace) -> Work:
    """``approve|reject NAME [--comment C] [--wait]``."""
    return _decide(args)


COMMANDS: dict[str, Callable[[argparse.Namespace], Work]] = {
    "vector": create,
    "facets": create,
    "yandex": create,
    "status": status,
    "list": list_,
    "history": history_,
    "plan": plan_,
    "approve": decide,
    "reject": decide,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit code (argparse exits 2 itself on a malformed command line)."""
    args = build_parser().parse_args(argv)
    try:
        return asyncio.run(COMMANDS[args.command](args))
    except PluginError as err:
        if err.code == EXIT_USAGE:
            args.parser.error(err.message)  # usage and message on stderr, exit 2, like argparse's own
        # The API server's refusals already read "Error from server (Reason): ...", as in kubectl.
        prefix = "" if err.message.startswith("Error from server") else "error: "
        print(f"{prefix}{err.message}", file=sys.stderr)
        return err.code
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
