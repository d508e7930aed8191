"""From a pydantic JSON Schema to the *structural* OpenAPI v3 schema the API server wants.

``structural`` inlines ``$ref``/``$defs``, turns ``X | None`` (``anyOf`` with null) into plain ``X``
(nullable means "not required"), and drops ``title`` and ``additionalProperties: false`` (unknown
fields are pruned by the server, and refused by ``kubectl``'s strict field validation). Used by
``crd.py``.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

_DROPPED_KEYWORDS = frozenset({"title", "$defs", "additionalProperties"})


class SchemaError(ValueError):
    """The models produced a schema the API server would not accept as structural."""


def structural(schema: Schema) -> Schema:
    """A pydantic JSON Schema (with ``$defs``) as an inlined, structural OpenAPI v3 schema."""
    converted = _convert(schema, defs=schema.get("$defs", {}))
    _require_types(converted, path="")
    return converted


def _convert(node: Schema, *, defs: Schema) -> Schema:
    node = _inline(node, defs=defs)
    out: Schema = {}
    for key, value in node.items():
        if key in _DROPPED_KEYWORDS:
            continue
        if key == "properties":
            out[key] = {name: _convert(sub, defs=defs) for name, sub in value.items()}
        elif key == "items":
            out[key] = _convert(value, defs=defs)
        else:
            out[key] = value
    return out


def _inline(node: Schema, *, defs: Schema) -> Schema:
    """Resolve ``anyOf [X, null]`` and ``$ref`` into one node; the referring node's keys win."""
    node = dict(node)
    if "anyOf" in node:
        branches = [branch for branch in node.pop("anyOf") if branch != {"type": "null"}]
        if len(branches) != 1:
            raise SchemaError(f"only `X | None` unions can be expressed structurally: {branches}")
        if "default" in node and node["default"] is None:
            del node["default"]  # "null by default" is what leaving a field out already means
        node = _merge(branches[0], node)
    if "$ref" in node:
        referenced = defs[node.pop("$ref").rsplit("/", 1)[-1]]
        node = _merge(_inline(referenced, defs=defs), node)
    return node


def _merge(base: Schema, override: Schema) -> Schema:
    """``override`` wins, except that CEL rules of a model and of the field using it add up."""
    rules = [*base.get("x-kubernetes-validations", []), *override.get("x-kubernetes-validations", [])]
    merged = {**base, **override}
    if rules:
        merged["x-kubernetes-validations"] = rules
    return merged


def _require_types(node: Schema, *, path: str) -> None:
    if "type" not in node:
        raise SchemaError(f"schema node {path or '<root>'} has no type")
    for name, sub in node.get("properties", {}).items():
        _require_types(sub, path=f"{path}.{name}")
    if "items" in node:
        _require_types(node["items"], path=f"{path}[]")
