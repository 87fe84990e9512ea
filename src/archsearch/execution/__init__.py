"""Where trials run: one small Backend interface, implemented inline, in local worker
processes, and on Ray."""

from archsearch.execution.base import Backend, Event, Job, MetricReport, TrialResult
from archsearch.execution.refs import NotTransferableError, Ref

__all__ = ["Backend", "Event", "Job", "MetricReport", "NotTransferableError", "Ref", "TrialResult"]
