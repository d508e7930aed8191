"""How patiently and how far a provider call may go: the retry policy and the per-attempt limits.

``RetryPolicy`` (attempts, backoff from ``config.backoff``, the longest ``Retry-After`` obeyed) and
``CallLimits`` (the total deadline of one attempt and the largest body read, set from
``Settings`` by the registry). Used by ``http.py``, which re-exports both.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from rollback_operator.config import backoff


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a request is retried."""

    attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 10.0
    max_retry_after: float = 60.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before attempt ``attempt + 1`` (full jitter, Retry-After wins)."""
        if retry_after is not None:
            return min(retry_after, self.max_retry_after)
        delays = backoff(self.base_delay, self.max_delay, 2.0, full_jitter=True)
        return next(itertools.islice(delays, attempt, None))


@dataclass(frozen=True)
class CallLimits:
    """What one attempt may cost, whatever the provider does (``Settings`` sets both)."""

    deadline: float = 30.0
    """Seconds for the whole attempt: connect, send, and read the complete body."""
    max_response_bytes: int = 4 * 1024 * 1024
    """The largest body read; a larger one is refused after reading this much."""
