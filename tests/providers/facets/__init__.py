"""Tests of the Facets.cloud adapter, its sandbox, and the sandbox against the official SDK."""
