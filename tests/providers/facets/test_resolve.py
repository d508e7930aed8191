"""Resolving a Facets target against the sandbox: the live version, the candidates, paging."""

from __future__ import annotations

import pytest

from rollback_operator.errors import ProviderRejected, TargetNotFound
from rollback_operator.models import FacetsProvider, Target
from rollback_operator.providers.base import Credentials
from rollback_operator.providers.facets import FacetsAdapter
from rollback_sandbox.common import SandboxServer
from rollback_sandbox.facets import FacetsState
from tests.providers.facets.conftest import MakeAdapter
from tests.providers.facets.support import (
    CLUSTER,
    VERSIONS_ROUTE,
    resource,
    seed_document,
    spec_for,
    version_id,
    versions,
)


async def test_steps_back_one_picks_the_version_before_the_live_one(
    adapter: FacetsAdapter, spec: FacetsProvider, creds: Credentials
) -> None:
    resolution = await adapter.resolve(spec, creds, Target(steps_back=1))

    assert (resolution.current, resolution.target) == (version_id(6), version_id(5))
    assert resolution.explanation.startswith("stepsBack=1: newest of")
    assert "1.5.0" in resolution.explanation
    assert [v.id for v in resolution.candidates[:2]] == [version_id(5), version_id(4)]


async def test_steps_back_n_picks_the_nth_earlier_version(
    adapter: FacetsAdapter, spec: FacetsProvider, creds: Credentials
) -> None:
    resolution = await adapter.resolve(spec, creds, Target(steps_back=4))

    assert resolution.target == version_id(2)
    assert resolution.explanation.startswith("stepsBack=4: 4th newest of 5 earlier versions (1.2.0")


async def test_an_explicit_version_is_chosen_when_it_is_an_earlier_version(
    adapter: FacetsAdapter, spec: FacetsProvider, creds: Credentials
) -> None:
    resolution = await adapter.resolve(spec, creds, Target(version=version_id(3)))

    assert (resolution.current, resolution.target) == (version_id(6), version_id(3))
    assert resolution.explanation.startswith(f"version={version_id(3)}: 3rd newest")


async def test_a_version_label_names_the_tag_and_the_archive_date(
    adapter: FacetsAdapter, spec: FacetsProvider, creds: Credentials, state: FacetsState
) -> None:
    resolution = await adapter.resolve(spec, creds, Target(steps_back=1))

    archived = state.resources[(CLUSTER, "service", "api")].versions[1]["archiveDate"]
    chosen = resolution.candidates[0]
    assert chosen.label == f"1.5.0, archived {archived[:10]} {archived[11:16]}"
    assert chosen.created_at is not None
    assert chosen.created_at.isoformat(timespec="milliseconds").startswith(archived[:23])


async def test_the_live_version_as_target_is_already_at_target_without_listing_versions(
    adapter: FacetsAdapter, spec: FacetsProvider, creds: Credentials, state: FacetsState
) -> None:
    resolution = await adapter.resolve(spec, creds, Target(version=version_id(6)))

    assert resolution.already_at_target
    assert "already the live version" in resolution.explanation
    assert state.requests[VERSIONS_ROUTE] == 0


async def test_an_unknown_version_is_target_not_found(
    adapter: FacetsAdapter, spec: FacetsProvider, creds: Credentials
) -> None:
    with pytest.raises(TargetNotFound, match="not among the 5 earlier versions"):
        await adapter.resolve(spec, creds, Target(version="65a0c1e2f3a4b5c6d7e8ffff"))


async def test_more_steps_back_than_versions_is_target_not_found(
    adapter: FacetsAdapter, spec: FacetsProvider, creds: Credentials
) -> None:
    with pytest.raises(TargetNotFound, match="stepsBack=6, but only 5 earlier versions"):
        await adapter.resolve(spec, creds, Target(steps_back=6))


async def test_an_unknown_resource_is_rejected_with_the_providers_message(
    adapter: FacetsAdapter, sandbox: SandboxServer, creds: Credentials
) -> None:
    with pytest.raises(ProviderRejected, match=r"HTTP 404: Artifact not found \(code NOT_FOUND\)"):
        await adapter.resolve(spec_for(sandbox.url, "billing"), creds, Target(steps_back=1))


@pytest.mark.parametrize("lists_live", [True, False], ids=["list-has-live", "list-without-live"])
async def test_the_target_is_the_same_whether_or_not_the_list_contains_the_live_version(
    adapter: FacetsAdapter, spec: FacetsProvider, creds: Credentials, state: FacetsState, lists_live: bool
) -> None:
    state.lists_live_version = lists_live

    first = await adapter.resolve(spec, creds, Target(steps_back=1))
    third = await adapter.resolve(spec, creds, Target(steps_back=3))

    assert (first.target, third.target) == (version_id(5), version_id(3))
    assert version_id(6) not in [v.id for v in third.candidates]


async def test_after_a_restore_the_newer_versions_become_candidates(
    adapter: FacetsAdapter, spec: FacetsProvider, creds: Credentials, state: FacetsState
) -> None:
    api = state.resources[(CLUSTER, "service", "api")]
    state.restore(api, version_id(4), "someone@acme.example")

    resolution = await adapter.resolve(spec, creds, Target(steps_back=1))

    assert (resolution.current, resolution.target) == (version_id(4), version_id(6))


async def test_without_a_reported_live_version_the_newest_listed_counts_as_live_and_says_so(
    adapter: FacetsAdapter, spec: FacetsProvider, creds: Credentials, state: FacetsState
) -> None:
    state.reports_live_version = False

    resolution = await adapter.resolve(spec, creds, Target(steps_back=2))

    assert (resolution.current, resolution.target) == (version_id(6), version_id(4))
    assert "live version assumed to be the newest listed" in resolution.explanation


async def test_versions_are_paged_only_until_enough_candidates_are_seen(
    make_adapter: MakeAdapter, spec: FacetsProvider, creds: Credentials, state: FacetsState
) -> None:
    state.seed({"resources": [resource("api", versions("api", 12))]})
    adapter = make_adapter(page_size=3)

    resolution = await adapter.resolve(spec, creds, Target(steps_back=7))

    assert resolution.target == version_id(5, "api")
    assert state.requests[VERSIONS_ROUTE] == 3  # 2 + 3 + 3 candidates on pages 0, 1, 2


async def test_an_explicit_version_is_searched_page_by_page_until_the_list_ends(
    make_adapter: MakeAdapter, spec: FacetsProvider, creds: Credentials, state: FacetsState
) -> None:
    state.seed({"resources": [resource("api", versions("api", 12))]})
    adapter = make_adapter(page_size=3)

    found = await adapter.resolve(spec, creds, Target(version=version_id(1)))
    requests_to_find = state.requests[VERSIONS_ROUTE]
    with pytest.raises(TargetNotFound, match="not among the 11 earlier versions"):
        await adapter.resolve(spec, creds, Target(version="65a0c1e2f3a4b5c6d7e8ffff"))

    assert found.target == version_id(1)
    assert requests_to_find == 4
    assert state.requests[VERSIONS_ROUTE] - requests_to_find == 5  # four full pages, then an empty one


async def test_paging_stops_at_the_page_cap(
    make_adapter: MakeAdapter, spec: FacetsProvider, creds: Credentials, state: FacetsState
) -> None:
    state.seed({"resources": [resource("api", versions("api", 12))]})
    adapter = make_adapter(page_size=3, max_pages=2)

    with pytest.raises(TargetNotFound, match="only 5 earlier versions"):
        await adapter.resolve(spec, creds, Target(steps_back=8))
    assert state.requests[VERSIONS_ROUTE] == 2


async def test_the_page_size_is_always_sent(
    make_adapter: MakeAdapter, spec: FacetsProvider, creds: Credentials, state: FacetsState
) -> None:
    state.seed({"resources": [resource("api", versions("api", 12))]})
    adapter = make_adapter(page_size=11)  # the server's default is 10: a silent default shows

    resolution = await adapter.resolve(spec, creds, Target(steps_back=10))

    assert resolution.target == version_id(2)
    assert state.requests[VERSIONS_ROUTE] == 1


async def test_a_versioning_key_with_reserved_characters_is_url_encoded(
    adapter: FacetsAdapter, spec: FacetsProvider, creds: Credentials, state: FacetsState
) -> None:
    key = "com.capillary.ops.cp.bo.Artifact/65 a#b?c"
    state.seed({"resources": [resource("api", versions("api", 3), versioningKey=key)]})

    resolution = await adapter.resolve(spec, creds, Target(steps_back=2))

    assert resolution.target == version_id(1)


async def test_resolving_never_restores_anything(
    adapter: FacetsAdapter, spec: FacetsProvider, creds: Credentials, state: FacetsState
) -> None:
    for target in (Target(steps_back=1), Target(version=version_id(2)), Target(version=version_id(6))):
        await adapter.resolve(spec, creds, target)

    assert not state.rollbacks
    assert state.resources[(CLUSTER, "service", "api")].live == version_id(6)


def test_the_seed_helper_makes_the_newest_version_live() -> None:
    """Guards the assumption the tests above are built on."""
    sandbox_state = FacetsState()
    sandbox_state.seed(seed_document())

    assert sandbox_state.resources[(CLUSTER, "service", "api")].live == version_id(6)
