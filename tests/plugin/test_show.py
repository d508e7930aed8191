"""How the plugin words a request: progress lines, ages and the list table (pure functions, no cluster)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rollback_operator.plugin.follow import outcome
from rollback_operator.plugin.show import age, is_terminal, progress_key, progress_line, table
from tests.integrations.samples import SITUATIONS, fresh, written

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0, "0s"),
        (119, "119s"),
        (150, "2m30s"),
        (600, "10m"),
        (3 * 3600 + 60, "3h1m"),
        (30 * 3600, "30h"),
        (3 * 86400, "3d"),
    ],
)
def test_ages_read_like_kubectl(seconds: int, expected: str) -> None:
    stamp = (NOW - timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")

    assert age(stamp, now=NOW) == expected


def test_a_request_without_a_phase_is_shown_as_waiting_for_the_operator() -> None:
    for obj in (fresh(), {**fresh(), "status": {"observedGeneration": 0}}):
        assert (
            progress_line(obj, now=NOW)
            == "12:00:00  Pending  waiting for the operator to pick the request up"
        )


async def test_progress_lines_carry_phase_message_and_operation_and_the_final_reason() -> None:
    claimed = await written(*SITUATIONS["InProgress (claimed)"])
    triggered = await written(*SITUATIONS["InProgress (triggered)"])
    failed = await written(*SITUATIONS["Failed (provider failed the rollback)"])

    assert progress_line(claimed, now=NOW) == (
        "12:00:00  InProgress  rolling back from d5 to d4  [claimed, not yet sent to the provider]"
    )
    assert progress_line(triggered, now=NOW) == (
        "12:00:00  InProgress  rollback to d4 triggered (d6)  [operation d6 Running]"
    )
    assert progress_line(failed, now=NOW).startswith(
        "12:00:00  Failed (RollbackFailed)  the provider reports the rollback failed: boom"
    )
    assert len({progress_key(o) for o in (claimed, triggered, failed)}) == 3


async def test_the_list_table_aligns_columns_and_clips_long_messages() -> None:
    done: dict[str, Any] = await written(*SITUATIONS["Succeeded"])
    long: dict[str, Any] = await written(*SITUATIONS["Failed (target not found)"])
    long["metadata"]["name"] = "a-much-longer-name"
    long["status"]["message"] = "x " * 100

    lines = table([long, done], all_namespaces=True, now=NOW).splitlines()

    assert lines[0].split() == [
        "NAMESPACE",
        "NAME",
        "PROVIDER",
        "PHASE",
        "TARGET",
        "REASON",
        "AGE",
        "MESSAGE",
    ]
    assert [line.split()[1] for line in lines[1:]] == ["a-much-longer-name", "api-after-bad-release"]
    starts = {line.find("vector") for line in lines[1:]}
    assert starts == {lines[0].index("PROVIDER")}  # one column, whatever the name's length
    assert lines[1].endswith("x x x...")
    assert len(lines[1]) - lines[0].index("MESSAGE") == 80


@pytest.mark.parametrize(
    "name", [n for n in SITUATIONS if n.split()[0] in ("Succeeded", "Failed", "Unknown")]
)
async def test_following_ends_0_only_for_succeeded_and_1_for_failed_or_unknown(name: str) -> None:
    obj = await written(*SITUATIONS[name])

    assert is_terminal(obj)
    assert outcome(obj) == (0 if name.startswith("Succeeded") else 1)


async def test_unfinished_requests_keep_the_watch_going() -> None:
    for name in ("Waiting", "Resolving (credentials missing)", "InProgress (triggered)"):
        assert not is_terminal(await written(*SITUATIONS[name]))
    assert not is_terminal(fresh())
