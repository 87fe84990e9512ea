"""Where trials run: one small Backend interface, implemented inline, in local worker
processes, and on Ray."""

from archsearch.execution.base import Backend, Event, Job, MetricReport, TrialResult
from archsearch.execution.inline import InlineBackend, TrialTimeout
from archsearch.execution.local import LocalBackend
from archsearch.execution.refs import NotTransferableError, Ref

__all__ = [
    "Backend",
    "Event",
    "InlineBackend",
    "Job",
    "LocalBackend",
    "MetricReport",
    "NotTransferableError",
    "Ref",
    "TrialResult",
    "TrialTimeout",
]
