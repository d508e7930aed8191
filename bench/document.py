"""docs/performance.md from one run (placeholder while the figures are being settled)."""

from __future__ import annotations

from bench.report import Results, table


def markdown(results: Results, *, quick: bool) -> str:
    return "```\n" + table(results) + "\n```\n"
