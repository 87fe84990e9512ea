"""Running one trial's evaluator in this process: the one place that installs its reporter.

Every backend's `run_job`, `Experiment.local_debug_run` and NNI's `evaluator._execute(Net)` go
through `run_trial`, so a trial means the same everywhere.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from typing import Any

import torch

from archsearch.evaluator.base import (
    InvalidMetricError,
    Reporter,
    TrialEvaluator,
    TrialInput,
    as_metric_dict,
)
from archsearch.evaluator.choices import evaluator_choices, fix_evaluator, trial_space
from archsearch.evaluator.reporter import reporting_to
from archsearch.nn.fix import fix
from archsearch.nn.walk import search_space

log = logging.getLogger("archsearch.experiment")


def run_trial(evaluator: Any, trial: TrialInput) -> dict[str, Any]:
    """Run `evaluator` on `trial` with `trial.reporter` installed; the final metric as a dict
    with its main value at "default". TypeError for something that is not a `TrialEvaluator`,
    InvalidMetricError when there is no metric or its main value is not finite."""
    if not isinstance(evaluator, TrialEvaluator):
        raise TypeError(
            f"the evaluator must be an archsearch Evaluator (e.g. FunctionalEvaluator), "
            f"got {type(evaluator).__name__}"
        )
    fixed = fix_evaluator(evaluator, trial.arch)  # its value choices: this trial's values
    with reporting_to(trial.reporter):
        value = fixed.evaluate_trial(trial)
    if value is None:
        value = trial.reporter.final
    if value is None:
        raise InvalidMetricError(
            "the evaluator returned no metric and reported no final result "
            "(return it, or call archsearch.report_final_result)"
        )
    return as_metric_dict(value)


def debug_run(evaluator: TrialEvaluator, model_space: Any, arch: Any = None) -> float:
    """Run one trial of `arch` (default: the first candidate of every choice, the evaluator's
    too) here, logging its intermediate results, and return its main final metric; errors
    propagate as raised."""
    if arch is None:
        arch = trial_space(search_space(model_instance(model_space)), evaluator).default()
    build = functools.partial(build_model, model_space, arch, evaluator)
    return float(run_trial(evaluator, TrialInput(arch, build, LogReporter()))["default"])


def model_instance(model_space: Any) -> torch.nn.Module:
    """The model space as a module: itself, or what calling it (a class, a factory) returns."""
    model = model_space if isinstance(model_space, torch.nn.Module) else model_space()
    if not isinstance(model, torch.nn.Module):
        raise TypeError(
            f"the model space must be an nn.Module, its class or a function returning one; "
            f"{model_space!r} gave {type(model).__name__}"
        )
    return model


def build_model(
    model_space: Any, arch: Mapping[str, Any], evaluator: Any = None
) -> torch.nn.Module:
    """The fixed model of `arch`: `model_space` is a model instance, a class or a factory.
    With the trial's `evaluator`, the labels of its value choices that the model does not have
    (its hyper-parameters) are left out of `arch` first; any other unknown label is refused."""
    model = model_instance(model_space)
    if evaluator is not None:
        hyperparameters = evaluator_choices(evaluator).dims.keys() & arch.keys()
        if hyperparameters:  # walked only then: most trials have none
            labels = search_space(model)
            arch = {k: v for k, v in arch.items() if k in labels or k not in hyperparameters}
    return fix(model, arch)


class LogReporter(Reporter):
    """Logs the intermediate results of a debug run."""

    def on_report(self, step: int, metrics: Mapping[str, Any]) -> None:
        log.warning("intermediate result at step %d: %s", step, dict(metrics))
