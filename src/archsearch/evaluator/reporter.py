"""NNI's reporting functions, routed to the reporter of the trial that is running.

Inside a trial run by an experiment (inline or in a worker process) the runner installs the
trial's reporter with `reporting_to`. In a classic-mode script launched by `archsearch run`, the
environment names a channel file that receives one JSON line per report. Anywhere else (a plain
`python train.py`) the functions only log, so the same script runs standalone.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from archsearch.evaluator.base import Metric, Reporter, as_metric_dict

log = logging.getLogger("archsearch.trial")

CHANNEL_ENV = "ARCHSEARCH_TRIAL_CHANNEL"
"""Environment variable: the JSON-lines file a classic-mode trial script reports into."""

_current: ContextVar[Reporter | None] = ContextVar("archsearch_reporter", default=None)


@contextmanager
def reporting_to(reporter: Reporter) -> Iterator[Reporter]:
    """Route `report_*_result` calls made inside the block to `reporter`."""
    token = _current.set(reporter)
    try:
        yield reporter
    finally:
        _current.reset(token)


def current_reporter() -> Reporter | None:
    """The reporter of the running trial: installed by the runner, else the classic channel
    named by the environment, else None (standalone)."""
    reporter = _current.get()
    if reporter is None and os.environ.get(CHANNEL_ENV):
        reporter = ChannelReporter(os.environ[CHANNEL_ENV])
        _current.set(reporter)
    return reporter


def report_intermediate_result(metric: Metric, step: int | None = None) -> None:
    """Report an intermediate metric (a number, or a dict with "default") of this trial."""
    reporter = current_reporter()
    if reporter is None:
        log.info("intermediate result (not in a trial): %s", metric)
        return
    reporter.report(step, metric)


def report_final_result(metric: Metric) -> None:
    """Report the final metric (a number, or a dict with "default") of this trial."""
    reporter = current_reporter()
    if reporter is None:
        log.info("final result (not in a trial): %s", metric)
        return
    reporter.report_final(metric)


class ChannelReporter(Reporter):
    """Appends reports as JSON lines to a file that the classic-mode runner follows.

    Lines: `{"type": "intermediate", "step": N, "metrics": {...}, "time": T}` and
    `{"type": "final", "metrics": {...}, "time": T}`. Each line is written with one `write`
    and flushed, so a reader never sees half a report of a live process.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__()
        self.path = os.fspath(path)

    def on_report(self, step: int, metrics: Mapping[str, Any]) -> None:
        self._write({"type": "intermediate", "step": step, "metrics": dict(metrics)})

    def report_final(self, metric: Metric) -> None:
        super().report_final(metric)
        metrics = as_metric_dict(metric, allow_non_finite=True)
        self._write({"type": "final", "metrics": metrics})

    def _write(self, record: dict[str, Any]) -> None:
        record["time"] = time.time()
        # allow_nan: a NaN metric must reach the runner, which records the trial as failed.
        line = json.dumps(record, allow_nan=True) + "\n"
        with open(self.path, "a", encoding="utf-8") as channel:
            channel.write(line)


class AmbientReporter(Reporter):
    """Forwards to NNI's functions: the running trial's reporter receives the reports (an
    evaluator's `fit` called inside a trial function), else they are logged (`fit` called on
    its own)."""

    def on_report(self, step: int, metrics: Mapping[str, Any]) -> None:
        report_intermediate_result(dict(metrics), step=step)

    def should_stop(self) -> bool:
        reporter = current_reporter()
        return reporter is not None and reporter.should_stop()
