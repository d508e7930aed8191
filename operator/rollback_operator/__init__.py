"""rollback-operator: a Kubernetes operator that rolls releases back exactly once.

Layers, outermost first (import-linter enforces them, see pyproject.toml):
``cli``/``handlers`` (kopf, the process) → ``reconciler`` (the domain, plain async code) →
``kube`` (the Kubernetes API) and ``providers`` (one adapter per provider API) → ``models``,
``conditions``, ``errors``. The local fakes of the provider APIs are a sibling package,
``rollback_sandbox``, which this package never imports (only ``rollback-operator sandbox`` does, lazily).
"""

__version__ = "0.1.0"
