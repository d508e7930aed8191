"""The provider call limits go from the command line to every adapter's HTTP client."""

from __future__ import annotations

from rollback_operator.cli import parse, settings_from
from rollback_operator.config import Settings
from rollback_operator.providers import Registry, call_limits
from rollback_operator.providers.http import CallLimits


def test_the_defaults_bound_a_call_to_30_seconds_and_4_mib() -> None:
    assert call_limits(settings_from(parse(["run"]))) == CallLimits(30.0, 4 * 1024 * 1024)


async def test_the_flags_reach_every_adapter() -> None:
    args = parse(["run", "--provider-call-timeout", "7.5", "--max-response-bytes", "65536"])
    registry = Registry.build(settings=settings_from(args))
    try:
        limits = {name: adapter.http.limits for name, adapter in registry.adapters.items()}  # type: ignore[attr-defined]
    finally:
        await registry.aclose()
    assert limits == dict.fromkeys(registry.adapters, CallLimits(deadline=7.5, max_response_bytes=65536))


def test_settings_without_flags_match_the_cli_defaults() -> None:
    assert call_limits(Settings()) == call_limits(settings_from(parse(["run"])))
