"""Running one job in the current process: shared by every backend.

Builds the fixed model of the job's architecture, runs the evaluator with the trial's reporter
installed, and turns whatever happens — a metric, an exception, a NaN — into a `TrialResult`.
Never raises for a trial's own failure (an exception or `sys.exit()` inside it).
"""

from __future__ import annotations

import json
import time
import traceback
from collections.abc import Callable, Mapping
from typing import Any

import torch

from archsearch.evaluator.base import (
    Evaluator,
    InvalidMetricError,
    Reporter,
    as_metric_dict,
)
from archsearch.evaluator.reporter import reporting_to
from archsearch.execution.base import Job, TrialResult
from archsearch.nn.fix import fix
from archsearch.space import Architecture, TrialStatus


class CallbackReporter(Reporter):
    """A reporter that hands each intermediate report to a function (queue, pipe, list)."""

    def __init__(self, send: Callable[[int, Mapping[str, Any]], None]) -> None:
        super().__init__()
        self.send = send

    def on_report(self, step: int, metrics: Mapping[str, Any]) -> None:
        self.send(step, storable(metrics))


def build_model(model_space: Any, arch: Architecture) -> torch.nn.Module:
    """The fixed model of `arch`: `model_space` is a model instance, a class or a factory."""
    model = model_space if isinstance(model_space, torch.nn.Module) else model_space()
    if not isinstance(model, torch.nn.Module):
        raise TypeError(
            f"the model space must be an nn.Module, a class or a function returning one; "
            f"{model_space!r} gave {type(model).__name__}"
        )
    return fix(model, arch)


def run_job(job: Job, reporter: Reporter) -> TrialResult:
    """Run `job` here and return its result; the trial's failures become FAILED results."""
    started = time.time()
    try:
        model_space = job.model_space.load()
        evaluator = job.evaluator.load()
        if not isinstance(evaluator, Evaluator):
            raise TypeError(
                f"the evaluator must be an archsearch Evaluator (e.g. FunctionalEvaluator), "
                f"got {type(evaluator).__name__}"
            )
        with reporting_to(reporter):
            value = evaluator.evaluate_trial(
                lambda: build_model(model_space, job.arch), job.arch, reporter
            )
        if value is None:
            value = reporter.final
        if value is None:
            raise InvalidMetricError(
                "the evaluator returned no metric and reported no final result "
                "(return it, or call archsearch.report_final_result)"
            )
        metrics = storable(as_metric_dict(value))
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
    return TrialResult(
        trial_id=trial_id,
        status=TrialStatus.FAILED,
        error=f"{type(exc).__name__}: {exc}".splitlines()[0][:500],
        traceback=traceback.format_exc(),
        started_at=started,
        ended_at=time.time(),
    )
