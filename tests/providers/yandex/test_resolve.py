"""Resolving: the ACTIVE revision is live, the others (newest first, no CREATING) are candidates."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from rollback_operator.errors import ProviderRejected, TargetNotFound
from rollback_operator.models import Target, YandexServerlessContainerProvider
from rollback_operator.providers.base import Credentials
from rollback_operator.providers.yandex import YandexAdapter
from rollback_sandbox.yandex import YandexState
from tests.providers.yandex.conftest import MakeAdapter, SpecFor
from tests.providers.yandex.scenario import BIG, EMPTY, LIVE, ODD, PREVIOUS, prod, rev

LIST_ROUTE = "GET /containers/v1/revisions"


async def test_one_step_back_is_the_newest_earlier_revision(
    adapter: YandexAdapter, spec: YandexServerlessContainerProvider, creds: Credentials
) -> None:
    resolution = await adapter.resolve(spec, creds, Target(steps_back=1))

    assert (resolution.current, resolution.target) == (LIVE, PREVIOUS)
    assert resolution.explanation.startswith("stepsBack=1: newest of 4 earlier versions")
    assert "api:1.3.0, OBSOLETE, created 2026-11-16 09:00 UTC" in resolution.explanation


async def test_candidates_are_ordered_by_creation_time_not_by_listing_order(
    adapter: YandexAdapter, spec: YandexServerlessContainerProvider, creds: Credentials
) -> None:
    resolution = await adapter.resolve(spec, creds, Target(steps_back=1))

    assert [v.id for v in resolution.candidates] == [prod(4), prod(3), prod(2), prod(1)]


async def test_steps_back_n_picks_the_nth_earlier_revision(
    adapter: YandexAdapter, spec: YandexServerlessContainerProvider, creds: Credentials
) -> None:
    resolution = await adapter.resolve(spec, creds, Target(steps_back=3))

    assert resolution.target == prod(2)
    assert resolution.explanation.startswith("stepsBack=3: 3rd newest of 4 earlier versions")


async def test_an_explicit_earlier_revision_is_the_target(
    adapter: YandexAdapter, spec: YandexServerlessContainerProvider, creds: Credentials
) -> None:
    resolution = await adapter.resolve(spec, creds, Target(version=prod(1)))

    assert resolution.target == prod(1)
    assert not resolution.already_at_target


async def test_the_live_revision_as_target_means_already_at_target(
    adapter: YandexAdapter, spec: YandexServerlessContainerProvider, creds: Credentials, state: YandexState
) -> None:
    resolution = await adapter.resolve(spec, creds, Target(version=LIVE))

    assert resolution.already_at_target
    assert sum(state.rollbacks.values()) == 0


async def test_a_revision_still_being_created_is_never_a_target(
    adapter: YandexAdapter, spec: YandexServerlessContainerProvider, creds: Credentials
) -> None:
    with pytest.raises(TargetNotFound, match=prod(6)):
        await adapter.resolve(spec, creds, Target(version=prod(6)))


async def test_more_steps_back_than_history_is_target_not_found(
    adapter: YandexAdapter, spec: YandexServerlessContainerProvider, creds: Credentials
) -> None:
    with pytest.raises(TargetNotFound, match="stepsBack=5, but only 4 earlier versions"):
        await adapter.resolve(spec, creds, Target(steps_back=5))


async def test_an_unknown_revision_id_is_target_not_found(
    adapter: YandexAdapter, spec: YandexServerlessContainerProvider, creds: Credentials
) -> None:
    with pytest.raises(TargetNotFound, match="bbarevnothere"):
        await adapter.resolve(spec, creds, Target(version="bbarevnothere"))


async def test_nanosecond_timestamps_are_read_to_the_microsecond(
    adapter: YandexAdapter, spec: YandexServerlessContainerProvider, creds: Credentials
) -> None:
    resolution = await adapter.resolve(spec, creds, Target(steps_back=1))

    assert resolution.candidates[0].created_at == datetime(2026, 11, 16, 9, 0, 0, 400000, tzinfo=UTC)


async def test_history_is_read_across_every_page(
    make_adapter: MakeAdapter, spec_for: SpecFor, creds: Credentials, state: YandexState
) -> None:
    adapter = make_adapter(page_size=5)

    resolution = await adapter.resolve(spec_for(BIG), creds, Target(steps_back=22))

    assert (resolution.current, resolution.target) == (rev("b", 23), rev("b", 1))
    assert len(resolution.candidates) == 22
    assert state.requests[LIST_ROUTE] == 5  # 23 revisions in pages of 5


async def test_a_history_longer_than_the_page_cap_is_refused_rather_than_guessed(
    make_adapter: MakeAdapter, spec_for: SpecFor, creds: Credentials, state: YandexState
) -> None:
    adapter = make_adapter(page_size=5, max_pages=3)

    with pytest.raises(ProviderRejected, match="after 3 pages of 5"):
        await adapter.resolve(spec_for(BIG), creds, Target(steps_back=1))
    assert state.requests[LIST_ROUTE] == 3


async def test_unknown_statuses_stay_candidates_and_show_in_the_label(
    adapter: YandexAdapter, spec_for: SpecFor, creds: Credentials
) -> None:
    resolution = await adapter.resolve(spec_for(ODD), creds, Target(steps_back=1))

    assert [v.id for v in resolution.candidates] == [rev("d", 2), rev("d", 1)]  # not STATUS_UNSPECIFIED
    assert "RETIRED_BY_POLICY" in resolution.explanation


async def test_a_container_without_an_active_revision_has_nothing_to_roll_back(
    adapter: YandexAdapter, spec_for: SpecFor, creds: Credentials
) -> None:
    with pytest.raises(TargetNotFound, match=f"container {EMPTY} \\(empty\\) has no ACTIVE revision"):
        await adapter.resolve(spec_for(EMPTY), creds, Target(steps_back=1))


async def test_an_unknown_container_is_rejected_with_yandexs_not_found(
    adapter: YandexAdapter, spec_for: SpecFor, creds: Credentials
) -> None:
    with pytest.raises(
        ProviderRejected, match="NOT_FOUND: Container bbanosuchcontainer0 not found"
    ) as caught:
        await adapter.resolve(spec_for("bbanosuchcontainer0"), creds, Target(steps_back=1))
    assert caught.value.status_code == 404


async def test_resolving_never_starts_a_rollback(
    adapter: YandexAdapter, spec: YandexServerlessContainerProvider, creds: Credentials, state: YandexState
) -> None:
    await adapter.resolve(spec, creds, Target(steps_back=2))

    assert not state.rollbacks
    assert all(not route.startswith("POST") for route in state.requests)


def test_the_target_key_names_the_container(
    adapter: YandexAdapter, spec: YandexServerlessContainerProvider
) -> None:
    assert adapter.target_key(spec) == f"yandex:{spec.container_id}"


def test_every_base_url_is_an_endpoint(adapter: YandexAdapter) -> None:
    spec = YandexServerlessContainerProvider(container_id="bbax")

    assert adapter.endpoints(spec) == [
        "https://serverless-containers.api.cloud.yandex.net",
        "https://operation.api.cloud.yandex.net",
        "https://iam.api.cloud.yandex.net",
    ]
