"""The Vector Pro provider: the adapter (``adapter.py``) and its wire format (``wire.py``).

The registry (``providers/__init__.py``) builds ``VectorAdapter``; tests read ``describe``, the
route prefix and the status sets.
"""

from rollback_operator.providers.vector.adapter import VectorAdapter
from rollback_operator.providers.vector.wire import API_PREFIX, FAILURE, IN_PROGRESS, SUCCESS, describe

__all__ = ["API_PREFIX", "FAILURE", "IN_PROGRESS", "SUCCESS", "VectorAdapter", "describe"]
