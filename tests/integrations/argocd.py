"""Argo CD's Lua health-check runtime, emulated closely enough to trust ``health.lua`` in it.

What Argo CD does (``util/lua`` in argo-cd): a gopher-lua state, i.e. Lua 5.1, where a script from
argocd-cm runs with only the package, base and table libraries and a reduced ``os`` (unless the
``useOpenLibs`` option is set); the resource is the global ``obj``, converted from its JSON form:
objects become tables with string keys, arrays become tables indexed from 1, numbers become Lua
numbers (float64), JSON null becomes nil (the key is absent). The chunk's return value must be a
table whose ``status`` is one of Healthy, Progressing, Degraded, Suspended, Missing, Unknown.

Here: lupa's Lua 5.1 runtime; the script runs as a chunk whose environment holds only the base
functions and ``table``, and strings lose their metatable, so ``string.find`` and ``("x"):find``
fail here exactly as they would in Argo CD.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lupa.lua51 import LuaRuntime

SCRIPT = Path(__file__).parents[2] / "deploy" / "integrations" / "argocd" / "health.lua"
STATUSES = frozenset({"Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"})
BASE = (
    "assert",
    "error",
    "ipairs",
    "next",
    "pairs",
    "pcall",
    "rawequal",
    "rawget",
    "rawset",
    "select",
    "getmetatable",
    "setmetatable",
    "tonumber",
    "tostring",
    "type",
    "unpack",
    "xpcall",
    "_VERSION",
)

_RUN = """
function(source, obj, names)
  local env = { obj = obj, table = table }
  for _, name in ipairs(names) do env[name] = _G[name] end
  env._G = env
  local chunk, problem = loadstring(source, "=health.lua")
  if chunk == nil then error(problem) end
  setfenv(chunk, env)
  return chunk()
end
"""


class ArgoHealth:
    """Runs one health script the way Argo CD's application controller does."""

    def __init__(self, source: str | None = None) -> None:
        self.source = source if source is not None else SCRIPT.read_text()
        self.lua = LuaRuntime()
        self._run = self.lua.eval(_RUN)
        self._names = self._array(list(BASE))
        self.lua.execute("debug.setmetatable('', nil)")  # no string methods, as without the string library

    def _array(self, items: list[Any]) -> Any:
        table = self.lua.table()
        for index, item in enumerate(items, start=1):
            table[index] = item
        return table

    def to_lua(self, value: Any) -> Any:
        """A JSON value as Argo CD hands it to Lua."""
        if isinstance(value, dict):
            table = self.lua.table()
            for key, item in value.items():
                if item is not None:  # assigning nil leaves the key absent, as in gopher-lua
                    table[key] = self.to_lua(item)
            return table
        if isinstance(value, list):
            return self._array([self.to_lua(item) for item in value])
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)  # gopher-lua numbers are float64
        return value

    def check(self, obj: dict[str, Any]) -> dict[str, str]:
        """The health the script reports for ``obj``: ``{"status": ..., "message": ...}``."""
        result = self._run(self.source, self.to_lua(obj), self._names)
        if result is None:
            return {}
        health = {key: result[key] for key in ("status", "message") if result[key] is not None}
        assert health.get("status") in STATUSES, f"Argo CD would reject {health} as an invalid health status"
        return health
