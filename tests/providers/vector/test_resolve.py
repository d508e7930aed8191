"""Resolving a Vector rollback target against the sandbox: live version, candidates, paging."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from rollback_operator.errors import ProviderRejected, TargetNotFound
from rollback_operator.models import Target, VectorProvider
from rollback_operator.providers.base import Credentials
from rollback_operator.providers.vector import VectorAdapter
from rollback_sandbox.vector import VectorState
from tests.providers.vector.scenario import EMPTY, NEVER, START, dep

LONG = "01jelong000000000000000000"
LIST_ROUTE = "GET /api/v1/vector/environments/{env}/deployments"


async def test_steps_back_one_picks_the_newest_earlier_successful_deployment(
    adapter: VectorAdapter, spec: VectorProvider, creds: Credentials, state: VectorState
) -> None:
    resolution = await adapter.resolve(spec, creds, Target(steps_back=1))

    assert resolution.current == dep("p", 5)
    assert resolution.target == dep("p", 4)
    assert [v.id for v in resolution.candidates] == [dep("p", 4), dep("p", 2), dep("p", 1)]
    assert resolution.explanation.startswith("stepsBack=1: newest of 3 earlier versions (deployed 2026-05-10")
    assert not state.rollbacks


async def test_the_watermark_is_the_newest_deployment_of_any_status(
    adapter: VectorAdapter, spec: VectorProvider, creds: Credentials
) -> None:
    resolution = await adapter.resolve(spec, creds, Target(steps_back=1))

    assert resolution.watermark == dep("p", 6)  # a failed deployment newer than the live one


async def test_steps_back_n_counts_only_successful_deployments(
    adapter: VectorAdapter, spec: VectorProvider, creds: Credentials
) -> None:
    resolution = await adapter.resolve(spec, creds, Target(steps_back=2))

    assert resolution.target == dep("p", 2)
    assert "stepsBack=2: 2nd newest of 3" in resolution.explanation


async def test_an_explicit_version_is_found_among_the_candidates(
    adapter: VectorAdapter, spec: VectorProvider, creds: Credentials
) -> None:
    resolution = await adapter.resolve(spec, creds, Target(version=dep("p", 1)))

    assert resolution.target == dep("p", 1)
    assert not resolution.already_at_target


async def test_the_live_version_as_target_is_already_at_target(
    adapter: VectorAdapter, spec: VectorProvider, creds: Credentials
) -> None:
    resolution = await adapter.resolve(spec, creds, Target(version=dep("p", 5)))

    assert resolution.already_at_target


async def test_a_failed_deployment_is_not_a_target(
    adapter: VectorAdapter, spec: VectorProvider, creds: Credentials
) -> None:
    with pytest.raises(TargetNotFound, match=f"version {dep('p', 3)} is not among the 3 earlier"):
        await adapter.resolve(spec, creds, Target(version=dep("p", 3)))


async def test_steps_back_beyond_the_history_is_target_not_found_after_the_last_page(
    adapter: VectorAdapter, spec: VectorProvider, creds: Credentials, state: VectorState
) -> None:
    with pytest.raises(TargetNotFound, match="stepsBack=4, but only 3 earlier versions exist"):
        await adapter.resolve(spec, creds, Target(steps_back=4))
    assert state.requests[LIST_ROUTE] == 1  # meta.last_page said there was no second page


@pytest.mark.parametrize("environment", [NEVER, EMPTY])
async def test_an_environment_without_a_successful_deployment_has_nothing_to_roll_back_from(
    adapter: VectorAdapter,
    spec_for: Callable[[str], VectorProvider],
    creds: Credentials,
    environment: str,
) -> None:
    with pytest.raises(TargetNotFound, match=r"no successful \(deployed or completed\) deployment"):
        await adapter.resolve(spec_for(environment), creds, Target(steps_back=1))


async def test_an_unknown_environment_is_rejected_with_vectors_message(
    adapter: VectorAdapter, spec_for: Callable[[str], VectorProvider], creds: Credentials
) -> None:
    with pytest.raises(ProviderRejected, match="HTTP 404: Environment not found") as caught:
        await adapter.resolve(spec_for("01jnosuchenvironment000000"), creds, Target(steps_back=1))
    assert caught.value.status_code == 404


def _long_history(state: VectorState, *, count: int) -> None:
    """Replace production's history with ``count`` deployed deployments, l1 oldest."""
    state.seed(
        {
            "tokens": dict(state.tokens),
            "environments": [
                {
                    "id": LONG,
                    "name": "long",
                    "deployments": [
                        {
                            "id": dep("l", n),
                            "status": "deployed",
                            "created_at": (START - timedelta(minutes=count - n + 1)).isoformat(),
                        }
                        for n in range(1, count + 1)
                    ],
                }
            ],
        }
    )


async def test_resolve_pages_through_history_with_an_explicit_page_size(
    make_adapter: Callable[..., VectorAdapter],
    spec_for: Callable[[str], VectorProvider],
    creds: Credentials,
    state: VectorState,
) -> None:
    _long_history(state, count=120)
    adapter = make_adapter(page_size=20)

    resolution = await adapter.resolve(spec_for(LONG), creds, Target(steps_back=45))

    assert resolution.current == dep("l", 120)
    assert resolution.target == dep("l", 75)
    assert state.requests[LIST_ROUTE] == 3  # 46 successful deployments needed: 20 + 20 + 6


async def test_resolve_stops_paging_once_the_target_is_found(
    make_adapter: Callable[..., VectorAdapter],
    spec_for: Callable[[str], VectorProvider],
    creds: Credentials,
    state: VectorState,
) -> None:
    _long_history(state, count=120)
    adapter = make_adapter(page_size=50)

    resolution = await adapter.resolve(spec_for(LONG), creds, Target(version=dep("l", 60)))

    assert resolution.target == dep("l", 60)
    assert state.requests[LIST_ROUTE] == 2


async def test_the_page_cap_ends_the_search_and_says_how_far_it_looked(
    make_adapter: Callable[..., VectorAdapter],
    spec_for: Callable[[str], VectorProvider],
    creds: Credentials,
    state: VectorState,
) -> None:
    _long_history(state, count=120)
    adapter = make_adapter(page_size=20, max_pages=2)

    with pytest.raises(TargetNotFound, match="searched only the newest 40 deployments"):
        await adapter.resolve(spec_for(LONG), creds, Target(version=dep("l", 1)))
    assert state.requests[LIST_ROUTE] == 2
