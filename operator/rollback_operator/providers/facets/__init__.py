"""The Facets.cloud provider: the adapter (``adapter.py``) and its wire format (``wire.py``).

The registry (``providers/__init__.py``) builds ``FacetsAdapter``; tests read ``describe``.
"""

from rollback_operator.providers.facets.adapter import FacetsAdapter
from rollback_operator.providers.facets.wire import describe

__all__ = ["FacetsAdapter", "describe"]
