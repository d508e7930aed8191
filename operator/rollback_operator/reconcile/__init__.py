"""One request's life, and nothing else.

    run.py      the dispatcher: load the request and its record, decide the next step
    actuate.py  claim → send → record, pause, resume, recover: the exactly-once core, alone
    observe.py  first look, poll, settle
    records.py  the identity's RollbackRecord: find, claim (create), renew, complete
    calls.py    provider and Kubernetes calls with credentials, retries and deadlines
    job.py      the request's facts (``Request``) and one run over it (``Job``)
    status.py   the one writer of the request's status and Events

Imports point down this list's reverse: ``run`` → ``actuate`` → ``observe`` → ``calls`` →
``records`` → ``job``; ``status`` is used by all. ``handlers.py`` builds the ``Reconciler``.
"""

from rollback_operator.reconcile.run import Reconciler

__all__ = ["Reconciler"]
