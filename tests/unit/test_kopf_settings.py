"""kopf as the operator configures it: only the operator's own writer posts Events."""

from __future__ import annotations

import logging

import kopf
from kopf._core.engines.posting import K8sPoster

from rollback_operator.handlers import _tune


def _object_log_line(settings: kopf.OperatorSettings) -> logging.LogRecord:
    """A WARNING about a request, as kopf's per-object logger makes it (with a control character)."""
    record = logging.LogRecord("kopf.objects", logging.WARNING, __file__, 1, "token=\x1b[2Jabc", (), None)
    record.settings = settings
    record.k8s_ref = {"apiVersion": "rollback.dev/v1alpha1", "kind": "RollbackRequest", "name": "r"}
    return record


def test_kopf_posts_no_event_for_a_log_line() -> None:
    """kopf's poster would send the line as is; the operator's Events are escaped and redacted."""
    tuned = kopf.OperatorSettings()
    _tune(tuned)
    assert not K8sPoster().filter(_object_log_line(tuned))


def test_the_check_can_fail_kopf_posts_log_lines_when_asked() -> None:
    """The same line passes kopf's filter once posting of log lines is on (kopf's own switch)."""
    loud = kopf.OperatorSettings()
    loud.posting.loggers = True
    assert K8sPoster().filter(_object_log_line(loud))
    _tune(loud)
    assert not K8sPoster().filter(_object_log_line(loud))
