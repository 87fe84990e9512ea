"""Running one job in the current process: shared by every backend.

Loads the job's model space and evaluator, runs the trial through `evaluator/run.py: run_trial`
(which installs the trial's reporter and builds the fixed model when the evaluator asks), and
turns whatever happens — a metric, an exception, a NaN — into a `TrialResult`. Never raises for
a trial's own failure (an exception or `sys.exit()` inside it).
"""

from __future__ import annotations

import functools
import json
import time
import traceback
from collections.abc import Callable, Mapping
from typing import Any

from archsearch.evaluator.base import InvalidMetricError, Reporter, TrialInput
from archsearch.evaluator.run import build_model, run_trial
from archsearch.execution.base import Job, MetricReport, TrialResult
from archsearch.space import TrialStatus


class CallbackReporter(Reporter):
    """A reporter that hands each intermediate report to a function (queue, pipe, list)."""

    def __init__(self, send: Callable[[int, Mapping[str, Any]], object]) -> None:
        super().__init__()
        self.send = send

    def on_report(self, step: int, metrics: Mapping[str, Any]) -> None:
        self.send(step, storable(metrics))


def sending_reports(
    trial_id: int, put: Callable[[MetricReport], object]
) -> Callable[[int, Mapping[str, Any]], object]:
    """A `CallbackReporter` function that hands each report to `put` (a queue's, a pipe's) as
    a `MetricReport` of `trial_id`, stamped with the time it was made."""
    return lambda step, metrics: put(MetricReport(trial_id, step, dict(metrics), time.time()))


def run_job(job: Job, reporter: Reporter) -> TrialResult:
    """Run `job` here and return its result; the trial's failures become FAILED results."""
    started = time.time()
    try:
        evaluator = job.evaluator.load()
        build = functools.partial(build_model, job.model_space.load(), job.arch, evaluator)
        trial = TrialInput(job.arch, build, reporter)
        metrics = storable(run_trial(evaluator, trial))
    # A trial's failure is a result, whatever it is; sys.exit() in a trial (argparse on a bad
    # flag) too. Ctrl-C and the inline timeout's TrialTimeout are not failures: they propagate.
    except (Exception, SystemExit) as exc:
        return failed_result(job.trial_id, exc, started)
    return TrialResult(
        trial_id=job.trial_id,
        status=TrialStatus.SUCCEEDED,
        metric=metrics["default"],
        metrics=metrics,
        started_at=started,
        ended_at=time.time(),
    )


def storable(metrics: Mapping[str, Any]) -> Mapping[str, Any]:
    """`metrics` when the store can keep every value (JSON: numbers, NaN included, strings,
    lists, dicts); else InvalidMetricError naming the key. Checked in the trial, so that such a
    metric fails its trial instead of the runner's store failing the whole experiment."""
    for key, value in metrics.items():
        try:
            json.dumps(value)
        except (TypeError, ValueError, RecursionError) as exc:
            raise InvalidMetricError(
                f"metric {key!r} cannot be stored: {exc} (extra metrics hold numbers, strings, "
                "and lists or dicts of them; convert e.g. numpy values with .tolist())"
            ) from None
    return metrics


def failed_result(trial_id: int, exc: BaseException, started: float) -> TrialResult:
    """The FAILED result of a trial that raised `exc` (call it inside the `except` block, so
    the traceback is the exception's)."""
    return ended_result(
        trial_id, TrialStatus.FAILED, describe(exc), started, traceback.format_exc()
    )


def describe(exc: BaseException) -> str:
    """The one-line reason stored for `exc`: 'Type: first line of the message', at most 500
    characters; the type alone when its `__str__` itself raises (user code must not be able to
    turn its own failure into the runner's)."""
    try:
        message = str(exc)
    except Exception:
        return f"{type(exc).__name__} (its message could not be made: str() raised)"
    return f"{type(exc).__name__}: {message}".splitlines()[0][:500]


def ended_result(
    trial_id: int, status: TrialStatus, error: str, started: float | None, trace: str | None = None
) -> TrialResult:
    """The result of a trial that ends now without a metric (failed, stopped, timed out)."""
    return TrialResult(
        trial_id, status, error=error, traceback=trace, started_at=started, ended_at=time.time()
    )


def overtime(job: Job) -> str:
    """The error of a trial stopped for running past its `max_duration`."""
    return f"the trial ran longer than max_duration ({job.max_duration:g} s)"
