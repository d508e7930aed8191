"""A request's target key is worked out once per uid and generation, not on every watch event."""

from __future__ import annotations

from typing import Any

from rollback_operator.config import Settings
from rollback_operator.reconcile import Reconciler
from rollback_operator.scheduling import TargetGate
from tests.support.memory import fresh


class Counting:
    """A provider whose target key counts how often it was asked."""

    def __init__(self) -> None:
        self.asked = 0

    def target_key(self, block: Any) -> str:
        self.asked += 1
        return f"vector/{block.environment_id}"


class OneProvider:
    def __init__(self, adapter: Counting) -> None:
        self.adapter = adapter

    def for_spec(self, spec: Any) -> tuple[Counting, Any]:
        return self.adapter, spec.selected


def _reconciler(adapter: Counting) -> Reconciler:
    return Reconciler(kube=None, registry=OneProvider(adapter), settings=Settings(), gate=TargetGate())  # type: ignore[arg-type]


def test_the_key_is_remembered_until_the_generation_changes_or_the_request_leaves() -> None:
    adapter = Counting()
    reconciler = _reconciler(adapter)
    body = fresh(uid="u1")

    first = [reconciler.target_key(body) for _ in range(3)]  # ADDED, MODIFIED, MODIFIED
    edited = fresh(generation=2, uid="u1")
    edited["spec"]["provider"] = {"vector": {"environmentId": "other"}}
    after_edit = reconciler.target_key(edited)
    reconciler.forget("u1")
    after_forget = reconciler.target_key(edited)

    assert first == ["vector/01jfgxk4"] * 3
    assert after_edit == after_forget == "vector/other"
    assert adapter.asked == 3  # once, once for generation 2, once after forget


def test_an_unusable_spec_has_no_key_and_is_not_asked_again() -> None:
    adapter = Counting()
    reconciler = _reconciler(adapter)
    body = fresh(uid="u2")
    body["spec"]["provider"] = {}

    assert reconciler.target_key(body) is None
    assert reconciler.target_key(body) is None
    assert adapter.asked == 0
