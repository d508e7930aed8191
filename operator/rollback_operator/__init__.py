"""rollback-operator: a Kubernetes operator that rolls releases back exactly once.

Layers, outermost first (import-linter enforces them, see pyproject.toml):
``cli``/``handlers`` (kopf, the process) → ``reconciler`` (the domain, plain async code) →
``kube`` (the Kubernetes API) and ``providers`` (one adapter per provider API) → ``models``,
``conditions``, ``errors``. ``sandbox`` holds local fakes of the provider APIs for tests and demos.
"""

__version__ = "0.1.0"
