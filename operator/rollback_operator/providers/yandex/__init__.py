"""The Yandex Serverless Containers provider: the adapter (``adapter.py``), its wire format
(``wire.py``) and the IAM authentication with service-account keys (``auth.py``).

The registry (``providers/__init__.py``) builds ``YandexAdapter``.
"""

from rollback_operator.providers.yandex.adapter import YandexAdapter

__all__ = ["YandexAdapter"]
