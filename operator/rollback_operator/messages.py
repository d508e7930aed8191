"""Sentences the operator writes for humans, kept together so they read alike.

Used by ``reconcile/`` (status messages and Events) and by the invalid-spec write.
"""

from __future__ import annotations

CHECK_PROVIDER = "Check the provider; if no rollback happened, delete this request and create a new one."
"""What a human should do about an ``OutcomeUnknown``: the end of every such message."""

RUN_AGAIN = (
    "To run the same rollback again on purpose, delete that RollbackRecord "
    "(kubectl delete rbrec {record}) or give the request a new name."
)
"""How to run an identity again: the end of every ``AlreadyExecuted`` message."""

APPROVE_HOW = (
    "approve with `kubectl rollback approve {name} -n {namespace}` "
    "(or create a RollbackApproval for uid {uid})"
)
"""How to approve a request that waits: the end of every ``AwaitingApproval`` message."""
