"""The pre-trigger deadline: timeoutSeconds count from the request's turn, not its time in the queue."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from rollback_operator.errors import CredentialsMissing, GaveUp
from rollback_operator.reconcile.calls import Calls
from rollback_operator.reconcile.job import Job
from tests.unit import samples

CREATED = samples.request().created


def _job(turn_at: datetime | None) -> Job:
    return samples.job(spec={"timeoutSeconds": 60}, turn_at=turn_at)


def _steps(now: datetime) -> Calls:
    return samples.calls(clock=samples.Clockwork(now))


def test_a_transient_failure_within_the_timeout_is_retried() -> None:
    _steps(CREATED + timedelta(seconds=59)).check_deadline(_job(None), CredentialsMissing("no secret"))


def test_a_transient_failure_past_the_timeout_gives_up_with_its_own_reason() -> None:
    with pytest.raises(GaveUp, match="gave up after 60s: no secret") as caught:
        _steps(CREATED + timedelta(seconds=61)).check_deadline(_job(None), CredentialsMissing("no secret"))
    assert caught.value.reason == "CredentialsMissing"


def test_time_spent_waiting_for_the_target_does_not_count() -> None:
    turn = CREATED + timedelta(minutes=30)  # queued behind another request for half an hour
    _steps(turn + timedelta(seconds=59)).check_deadline(_job(turn), CredentialsMissing("no secret"))
    with pytest.raises(GaveUp):
        _steps(turn + timedelta(seconds=61)).check_deadline(_job(turn), CredentialsMissing("no secret"))
