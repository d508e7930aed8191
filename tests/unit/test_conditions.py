"""The condition table: every situation renders the five conditions the contract promises."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rollback_operator.conditions import TYPES, Reason, Situation, ready_reason, render
from rollback_operator.status_models import Phase

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def _table(situation: Situation) -> dict[str, tuple[str, str]]:
    return {c.type: (c.status.value, c.reason) for c in render(situation, previous=[], generation=1, now=T0)}


@pytest.mark.parametrize(
    ("situation", "ready", "reconciling", "stalled"),
    [
        (
            Situation(Phase.SUCCEEDED, Reason.ROLLBACK_SUCCEEDED, "done", triggered=True),
            ("True", "RollbackSucceeded"),
            "False",
            "False",
        ),
        (
            Situation(Phase.SUCCEEDED, Reason.DRY_RUN_SUCCEEDED, "dry"),
            ("True", "DryRunSucceeded"),
            "False",
            "False",
        ),
        (
            Situation(Phase.SUCCEEDED, Reason.ALREADY_AT_TARGET, "noop"),
            ("True", "AlreadyAtTarget"),
            "False",
            "False",
        ),
        (
            Situation(Phase.IN_PROGRESS, Reason.ROLLBACK_TRIGGERED, "going", triggered=True),
            ("False", "InProgress"),
            "True",
            "False",
        ),
        (
            Situation(Phase.WAITING, Reason.WAITING_FOR_TARGET, "queued"),
            ("False", "InProgress"),
            "True",
            "False",
        ),
        (Situation(Phase.FAILED, "TargetNotFound", "no such"), ("False", "TargetNotFound"), "False", "True"),
        (
            Situation(Phase.FAILED, Reason.TIMED_OUT, "slow", triggered=True),
            ("False", "TimedOut"),
            "False",
            "True",
        ),
        (
            Situation(Phase.UNKNOWN, Reason.OUTCOME_UNKNOWN, "ask"),
            ("False", "OutcomeUnknown"),
            "False",
            "True",
        ),
    ],
)
def test_each_situation_renders_ready_reconciling_and_stalled_as_kstatus_expects(
    situation: Situation, ready: tuple[str, str], reconciling: str, stalled: str
) -> None:
    table = _table(situation)
    assert list(table) == list(TYPES)
    assert table["Ready"] == ready
    assert table["Reconciling"][0] == reconciling
    assert table["Stalled"][0] == stalled


def test_a_failure_before_the_trigger_says_so_on_resolved_and_triggered() -> None:
    table = _table(Situation(Phase.FAILED, "CredentialsInvalid", "401"))
    assert table["Resolved"] == ("False", "CredentialsInvalid")
    assert table["Triggered"] == ("False", "CredentialsInvalid")


def test_a_failure_between_resolving_and_the_trigger_keeps_resolved_true() -> None:
    table = _table(Situation(Phase.FAILED, "ProviderRejected", "422 busy", resolved=True))
    assert table["Resolved"] == ("True", "TargetResolved")
    assert table["Triggered"] == ("False", "ProviderRejected")
    assert table["Ready"] == ("False", "ProviderRejected")


def test_a_failure_after_the_trigger_keeps_resolved_and_triggered_true() -> None:
    table = _table(Situation(Phase.FAILED, Reason.ROLLBACK_FAILED, "boom", triggered=True))
    assert table["Resolved"] == ("True", "TargetResolved")
    assert table["Triggered"] == ("True", "RollbackTriggered")


def test_last_transition_time_moves_only_when_a_status_flips() -> None:
    first = render(Situation(Phase.IN_PROGRESS, Reason.CLAIMED, "claimed"), previous=[], generation=1, now=T0)
    later = T0 + timedelta(seconds=30)
    second = render(
        Situation(Phase.IN_PROGRESS, Reason.ROLLBACK_TRIGGERED, "sent", triggered=True),
        previous=first,
        generation=1,
        now=later,
    )
    times = {c.type: c.last_transition_time for c in second}
    assert times["Resolved"] == T0  # True → True
    assert times["Triggered"] == later  # Unknown → True
    assert times["Ready"] == T0  # False → False, although the reason is unchanged anyway


def test_the_message_sits_on_ready_on_stalled_when_stalled_and_where_the_reason_originates() -> None:
    conditions = render(Situation(Phase.FAILED, "TargetNotFound", "no v9"), previous=[], generation=3, now=T0)
    messages = {c.type: c.message for c in conditions}
    assert messages == {
        "Resolved": "no v9",
        "Triggered": "",
        "Ready": "no v9",
        "Reconciling": "",
        "Stalled": "no v9",
    }
    assert {c.observed_generation for c in conditions} == {3}
    assert ready_reason(conditions) == "TargetNotFound"
