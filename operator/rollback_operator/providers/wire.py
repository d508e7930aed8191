"""Reading provider answers: the helpers the three adapters share.

- ``parse`` validates decoded JSON against a wire model and raises ``MalformedResponse`` with
  ``validation_problems``: "field.path: message" text without the input values, since an answer
  that does not fit must not carry what it holds (a token, say) into status or logs.
- ``collect_pages`` pages through a newest-first history, each entry once, until the adapter has
  enough, the provider has no more, or a page cap stops it.

Used by ``facets/``, ``vector/`` and ``yandex/`` (their ``wire.py`` and adapters).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar, overload

from pydantic import BaseModel, TypeAdapter, ValidationError

from rollback_operator.errors import MalformedResponse


class Identified(Protocol):
    """A history entry with a stable id (a Facets version, a Vector deployment)."""

    @property
    def id(self) -> str: ...


EntryT = TypeVar("EntryT", bound=Identified)
ModelT = TypeVar("ModelT", bound=BaseModel)
T = TypeVar("T")


def validation_problems(exc: ValidationError, *, limit: int = 3) -> str:
    """The first ``limit`` problems as "field.path: message", joined by "; "; never the input."""
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or 'body'}: {error['msg']}"
        for error in exc.errors(include_input=False, include_url=False)[:limit]
    )


@overload
def parse(validator: type[ModelT], data: Any, *, what: str, expected: str = "") -> ModelT: ...
@overload
def parse(validator: TypeAdapter[T], data: Any, *, what: str, expected: str = "") -> T: ...
def parse(validator: type[BaseModel] | TypeAdapter[Any], data: Any, *, what: str, expected: str = "") -> Any:
    """``data`` (decoded JSON) as the model, or ``MalformedResponse`` saying what was expected.

    The message reads "<what>: expected <expected> (<problems>)", or "<what>: unexpected response
    shape (<problems>)" without ``expected``.
    """
    try:
        if isinstance(validator, TypeAdapter):
            return validator.validate_python(data)
        return validator.model_validate(data)
    except ValidationError as exc:
        shape = f"expected {expected}" if expected else "unexpected response shape"
        raise MalformedResponse(f"{what}: {shape} ({validation_problems(exc)})") from exc


@dataclass(frozen=True)
class Collected(Generic[EntryT]):
    """What paging through a history found."""

    entries: list[EntryT]
    """Newest first, each once."""
    truncated: bool
    """True when the page cap stopped the search before the end of the history."""


async def collect_pages(
    fetch: Callable[[int], Awaitable[tuple[Sequence[EntryT], bool]]],
    *,
    pages: range,
    enough: Callable[[list[EntryT]], bool],
) -> Collected[EntryT]:
    """Fetch the pages numbered by ``pages`` until ``enough(entries)`` or the last page.

    ``fetch(number)`` answers the page's entries and whether another page follows. An entry
    created while paging shifts later pages by one, so an id seen before is skipped.
    """
    seen: dict[str, EntryT] = {}
    for number in pages:
        batch, more = await fetch(number)
        for entry in batch:
            seen.setdefault(entry.id, entry)
        if enough(list(seen.values())) or not more:
            return Collected(list(seen.values()), truncated=False)
    return Collected(list(seen.values()), truncated=True)
