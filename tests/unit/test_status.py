"""The request view: a stable idempotency key per object, derived from its uid."""

from __future__ import annotations

import uuid

from rollback_operator.status import Request


def _request(uid: str) -> Request:
    body = {
        "metadata": {
            "name": "r",
            "namespace": "ns",
            "uid": uid,
            "resourceVersion": "1",
            "creationTimestamp": "2026-11-22T10:00:00Z",
        },
        "spec": {
            "reason": "x",
            "provider": {"vector": {"environmentId": "e"}},
            "credentialsSecretRef": {"name": "s"},
        },
    }
    return Request.parse(body)


def test_the_idempotency_key_is_a_version_4_uuid_stable_per_uid() -> None:
    key = _request("6a1f").idempotency_key
    assert uuid.UUID(key).version == 4
    assert key == _request("6a1f").idempotency_key
    assert key != _request("6a20").idempotency_key
