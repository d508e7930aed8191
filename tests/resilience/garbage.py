"""Random invalid RollbackRequest specs, each broken in one to three ways the API must refuse.

Every breaker on its own makes a spec invalid per the CRD (schema bounds, required fields, CEL
rules, or unknown fields under strict field validation, as ``kubectl apply`` sends them), so any
combination is invalid too. Specs start from a valid request for a live sandbox target: if the API
server ever let one through, the operator would act on it and the sandbox would count it. No
breaker uses ``null``: the API server prunes nulls from non-nullable fields, which is not a refusal.
Used by ``test_bad_input.py``.
"""

from __future__ import annotations

import copy
import random
import string
from collections.abc import Callable
from typing import Any

Spec = dict[str, Any]
Breaker = Callable[[Spec, random.Random], None]


def _block(spec: Spec) -> dict[str, Any]:
    provider = spec["provider"]
    return provider[next(iter(provider))]  # type: ignore[no-any-return]


def _text(rng: random.Random, length: int) -> str:
    return "".join(rng.choices(string.ascii_lowercase, k=length))


def _set_url(spec: Spec, rng: random.Random) -> None:
    bad = rng.choice(
        [
            f"http://{_text(rng, 8)}.example.com",
            f"ftp://{_text(rng, 6)}.example.com",
            f"{_text(rng, 8)}.example.com",
            "http://10.0.0.7:8080",
            "http://127.0.0.1.nip.io",
            "https://",
            "https://example.com/" + "p" * 2050,
        ]
    )
    block = _block(spec)
    field = (
        "controlPlaneURL"
        if "resourceName" in block
        else rng.choice(["apiURL"] if "environmentId" in block else ["apiURL", "operationsURL", "iamURL"])
    )
    block[field] = bad


def _drop_required(spec: Spec, rng: random.Random) -> None:
    block = _block(spec)
    required = [
        k
        for k in ("environmentId", "resourceType", "resourceName", "controlPlaneURL", "containerId")
        if k in block
    ]
    del block[rng.choice(required)]


BREAKERS: dict[str, Breaker] = {
    "no reason": lambda s, r: s.pop("reason"),
    "empty reason": lambda s, r: s.update(reason=""),
    "reason too long": lambda s, r: s.update(reason="x" * r.randint(1025, 5000)),
    "reason not a string": lambda s, r: s.update(reason=r.choice([42, True, ["a"], {"a": 1}])),
    "no provider": lambda s, r: s.pop("provider"),
    "empty provider": lambda s, r: s.update(provider={}),
    "second provider": lambda s, r: s["provider"].update(
        {"vector": {"environmentId": "01x"}} if "vector" not in s["provider"] else {"facets": {"x": 1}}
    ),
    "unknown provider": lambda s, r: s["provider"].update({_text(r, 6): {"repo": "acme/api"}}),
    "provider not an object": lambda s, r: s.update(provider=r.choice(["vector", 7, ["vector"]])),
    "provider field missing": _drop_required,
    "bad URL": _set_url,
    "no Secret reference": lambda s, r: s.pop("credentialsSecretRef"),
    "bad Secret name": lambda s, r: s["credentialsSecretRef"].update(
        name=r.choice(["Creds_X", "-creds", "a" * 254, "", "creds/x"])
    ),
    "both target keys": lambda s, r: s.update(target={"version": _text(r, 5), "stepsBack": r.randint(1, 50)}),
    "stepsBack out of range": lambda s, r: s.update(target={"stepsBack": r.choice([0, -1, 51, 10**6])}),
    "stepsBack not an integer": lambda s, r: s.update(target={"stepsBack": r.choice(["2", 1.5, [1]])}),
    "empty target version": lambda s, r: s.update(target={"version": ""}),
    "timeout out of range": lambda s, r: s.update(timeoutSeconds=r.choice([0, 9, -5, 86401, 10**9])),
    "timeout not an integer": lambda s, r: s.update(timeoutSeconds=r.choice(["1800", 12.5, False])),
    "dryRun not a boolean": lambda s, r: s.update(dryRun=r.choice(["yes", 1, "true"])),
    "empty expectedCurrentVersion": lambda s, r: s.update(expectedCurrentVersion=""),
    "unknown spec field": lambda s, r: s.update({_text(r, 7): r.choice([True, 1, "x"])}),
    "unknown provider field": lambda s, r: (
        _block(s).update({"clusterId": _text(r, 8)})
        if "clusterId" not in _block(s)
        else _block(s).update({"zone": "x"})
    ),
}


LAST = frozenset({"no provider", "empty provider", "provider not an object", "no Secret reference"})
"""Breakers that remove or replace a block other breakers edit: they run after those."""


def invalid_spec(valid: Spec, rng: random.Random) -> tuple[Spec, list[str]]:
    """A copy of ``valid`` broken by one to three random breakers; returns it and their names."""
    spec = copy.deepcopy(valid)
    names = rng.sample(sorted(BREAKERS), k=rng.randint(1, 3))
    for name in sorted(names, key=lambda n: n in LAST):
        BREAKERS[name](spec, rng)
    return spec, names
