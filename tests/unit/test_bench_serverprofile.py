"""How the benchmark sorts the API server's CPU profile into parts (bench/serverprofile.py)."""

from __future__ import annotations

import pytest
from bench.context import Sizes
from bench.document import _server_profile
from bench.profile import Profile
from bench.report import Results
from bench.serverprofile import GC, OTHER, REQUESTS, WORK, ServerProfile, parse, summarize

SEPARATOR = "-----------+-------------------------------------------------------"
HEADER = ["File: kube-apiserver", "Type: cpu", "Duration: 8.13s, Total samples = 6.71s (82.53%)"]
STATUS_WRITE_IN_CEL = [
    "      30ms   k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel.(*Validator).Validate",
    "             k8s.io/apiextensions-apiserver/pkg/registry/customresource.statusStrategy.ValidateUpdate",
    "             k8s.io/apiextensions-apiserver/pkg/registry/customresource.(*StatusREST).Update",
    "             k8s.io/apiserver/pkg/endpoints/handlers.(*patcher).patchResource.func2",
    "             k8s.io/apiserver/pkg/endpoints/handlers/finisher.finishRequest.func1",
]
RECORD_PATCH_IN_MANAGED_FIELDS = [
    "      20ms   sigs.k8s.io/structured-merge-diff/v6/typed.(*TypedValue).Compare",
    "             k8s.io/apimachinery/pkg/util/managedfields/internal.(*FieldManager).Update",
    "             k8s.io/apiserver/pkg/registry/generic/registry.(*Store).Update",
    "             k8s.io/apiserver/pkg/endpoints/handlers.(*patcher).patchResource.func2",
]
EVENT_CREATE_IN_ETCD = [
    "      1.5s   k8s.io/apiserver/pkg/storage/etcd3.(*store).Create",
    "             k8s.io/apiserver/pkg/endpoints/handlers.CreateResource.createHandler.func1.1",
]
GARBAGE_COLLECTION = ["      10ms   runtime.scanObject", "             runtime.gcBgMarkWorker"]
SCHEDULER = ["     500us   runtime.usleep", "             runtime.schedule"]


def _traces(*samples: list[str]) -> list[str]:
    lines = list(HEADER)
    for sample in samples:
        lines += [SEPARATOR, *sample]
    return [*lines, SEPARATOR]


def test_each_sample_is_read_with_its_time_and_frames_from_the_leaf_out() -> None:
    samples = parse(_traces(STATUS_WRITE_IN_CEL, EVENT_CREATE_IN_ETCD, SCHEDULER))

    assert [ms for ms, _ in samples] == [30.0, 1500.0, 0.5]
    assert samples[0][1][0] == "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel.(*Validator).Validate"
    assert samples[0][1][-1] == "k8s.io/apiserver/pkg/endpoints/handlers/finisher.finishRequest.func1"
    assert len(samples[1][1]) == 2


def test_each_sample_goes_to_the_first_part_its_stack_holds_in_both_tables() -> None:
    profile = summarize(
        _traces(STATUS_WRITE_IN_CEL, RECORD_PATCH_IN_MANAGED_FIELDS, GARBAGE_COLLECTION, SCHEDULER),
        cpu_ms=17.0,
    )

    total = 30 + 20 + 10 + 0.5
    assert profile.sampled_ms == total
    assert profile.cpu_ms == 17.0
    serving = dict(REQUESTS)
    assert list(profile.requests) == [*serving, OTHER]
    # a status write is a status write, not "other patches", though both run in a patcher
    assert profile.requests["RollbackRequest status writes (the operator's)"] == 30 / total
    assert profile.requests["other patches (the RollbackRecord's outcome)"] == 20 / total
    assert profile.requests[GC] == 10 / total
    assert profile.requests[OTHER] == 0.5 / total
    assert profile.work["CEL validation rules (the CRDs' x-kubernetes-validations)"] == 30 / total
    assert profile.work["managed fields (which manager owns which field)"] == 20 / total
    assert profile.work[GC] == 10 / total
    assert list(profile.work) == [*dict(WORK), OTHER]
    assert sum(profile.requests.values()) == pytest.approx(1)
    assert sum(profile.work.values()) == pytest.approx(1)


def test_a_profile_without_samples_has_no_shares() -> None:
    profile = summarize(HEADER)

    assert profile.sampled_ms == 0
    assert profile.requests == {}
    assert profile.work == {}


def _results(server: ServerProfile) -> Results:
    results = Results(Sizes())
    results.profile = Profile(samples=1, server=server)
    return results


def test_the_document_gives_each_part_its_share_of_the_api_servers_cpu_per_rollback() -> None:
    server = ServerProfile(sampled_ms=6710.0, cpu_ms=17.0, requests={"status writes": 0.25, OTHER: 0.75})
    server.work = {GC: 0.5, OTHER: 0.5}

    text = "\n".join(_server_profile(_results(server)))

    assert "6.7 s of CPU sampled; 17.0 ms of API server CPU per rollback" in text
    assert "| status writes | 25% | 4.25 |" in text
    assert f"| {GC} | 50% | 8.50 |" in text


def test_a_profile_too_short_to_sort_says_so_instead_of_a_table() -> None:
    server = ServerProfile(sampled_ms=40.0, cpu_ms=17.0, requests={GC: 1.0}, work={GC: 1.0})

    lines = _server_profile(_results(server))

    assert lines == ["Only 40 ms of the API server's CPU sampled (a short burst): too few samples to sort."]
