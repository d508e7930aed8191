"""Benchmarks of the operator against a minimal baseline (the floor), run by ``make bench``.

``python -m bench`` starts a local control plane and the provider sandboxes, measures latency,
throughput, API writes and provider calls per rollback, memory and restart cost, for the operator
and for ``bench.floor``, prints a table and writes docs/performance.md. Not part of the test suite.
"""
