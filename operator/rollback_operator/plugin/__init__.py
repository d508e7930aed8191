"""The ``kubectl rollback`` plugin: create RollbackRequests from the command line and follow them.

Installed with the package as the ``kubectl-rollback`` console script, so kubectl finds it on PATH
(``kubectl rollback ...``); ``python -m rollback_operator.plugin`` runs the same. Modules:
``parser`` (the command line), ``spec`` (flags to a validated manifest), ``cluster`` (kubeconfig,
API calls, watches), ``follow`` (progress until the end), ``show``/``describe`` (text), ``cli``
(dispatch and exit codes). Needs only the operator's runtime dependencies.
"""

from rollback_operator.plugin.cli import main

__all__ = ["main"]
