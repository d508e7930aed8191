"""The metric names a PromQL expression (or a Grafana variable query) reads.

Enough PromQL for the dashboards and alerts we ship: strings, label matchers, range selectors and
grouping clauses are removed; then every identifier that is not followed by `(` (a function or an
aggregation) and is not a keyword is a metric name.
"""

from __future__ import annotations

import re

KEYWORDS = {
    "and",
    "or",
    "unless",
    "bool",
    "offset",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "inf",
    "nan",
}
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_MATCHERS = re.compile(r"\{[^}]*\}")
_RANGE = re.compile(r"\[[^\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_WORD = re.compile(r"(?<![\w$.])[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_VALUES = re.compile(r"label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,")


def metric_names(expr: str) -> set[str]:
    """The metric names ``expr`` selects."""
    for pattern in (_STRING, _MATCHERS, _RANGE, _GROUPING):
        expr = pattern.sub(" ", expr)
    names = set()
    for match in _WORD.finditer(expr):
        if expr[match.end() :].lstrip().startswith("("):
            continue  # a function or an aggregation
        if match.group().lower() not in KEYWORDS:
            names.add(match.group())
    return names


def variable_metrics(query: str) -> set[str]:
    """The metric a Grafana ``label_values(metric, label)`` variable reads."""
    return set(_LABEL_VALUES.findall(query))
