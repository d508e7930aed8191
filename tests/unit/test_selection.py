"""Target selection: stepsBack counts candidates, an explicit version must be one of them."""

from __future__ import annotations

import pytest

from rollback_operator.errors import TargetNotFound
from rollback_operator.models import Target
from rollback_operator.providers.base import Version
from rollback_operator.providers.selection import choose, ordinal

CANDIDATES = [Version("v3", label="1.3"), Version("v2"), Version("v1")]


def test_steps_back_picks_the_nth_candidate_and_explains_it() -> None:
    one = choose(current="v4", candidates=CANDIDATES, target=Target(steps_back=1), watermark="w")
    three = choose(current="v4", candidates=CANDIDATES, target=Target(steps_back=3))
    assert (one.target, one.explanation, one.watermark) == (
        "v3",
        "stepsBack=1: newest of 3 earlier versions (1.3)",
        "w",
    )
    assert (three.target, three.explanation) == ("v1", "stepsBack=3: 3rd newest of 3 earlier versions")


def test_an_explicit_version_is_found_among_the_candidates_or_is_the_live_one() -> None:
    found = choose(current="v4", candidates=CANDIDATES, target=Target(version="v2"))
    live = choose(current="v4", candidates=CANDIDATES, target=Target(version="v4"))
    assert (found.target, found.explanation) == ("v2", "version=v2: 2nd newest of 3 earlier versions")
    assert live.already_at_target
    assert not found.already_at_target


@pytest.mark.parametrize("target", [Target(version="v9"), Target(steps_back=4)])
def test_a_target_outside_the_history_is_not_found(target: Target) -> None:
    with pytest.raises(TargetNotFound, match="3 earlier versions"):
        choose(current="v4", candidates=CANDIDATES, target=target)


def test_ordinals_read_naturally() -> None:
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 111)] == [
        "1st",
        "2nd",
        "3rd",
        "4th",
        "11th",
        "12th",
        "13th",
        "21st",
        "22nd",
        "23rd",
        "111th",
    ]
