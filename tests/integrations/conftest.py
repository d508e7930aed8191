"""Fixtures of the integration tests: the same as the plugin tests' (CRD, module operator, sandboxes)."""

from __future__ import annotations

from tests.plugin.conftest import crd, operator, plugin, requests_, sandboxes, watched

__all__ = ["crd", "operator", "plugin", "requests_", "sandboxes", "watched"]
