"""The evaluator interface: what runs inside a trial, and how it reports metrics.

A `TrialEvaluator` scores one trial (a `TrialInput`) and returns its final metric; an
`Evaluator` does it by training the trial's fixed model. While it runs it reports intermediate
metrics to a `Reporter`, directly or through the NNI-style functions `report_intermediate_result`
/ `report_final_result` (see `reporter.py`; `run.py` installs the reporter).
"""

from __future__ import annotations

import math
import numbers
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    import torch

Metric = float | Mapping[str, Any]
"""A final or intermediate metric: a number, or a dict of numbers with the main one at
"default" (NNI's convention)."""


class InvalidMetricError(ValueError):
    """A metric that is not a finite number, or a dict without a finite "default"."""


class Reporter(ABC):
    """Receives a trial's metrics while it runs.

    Intermediate reports carry a step (epochs or batches, as the evaluator counts); a report
    without one takes the next step number. The final metric may be reported here or returned
    by the evaluator; a returned metric wins.
    """

    def __init__(self) -> None:
        self.next_step = 0
        self.final: Metric | None = None

    @abstractmethod
    def on_report(self, step: int, metrics: Mapping[str, Any]) -> None:
        """Deliver one intermediate report (subclasses send it to the runner)."""

    def report(self, step: int | None, metrics: Metric) -> None:
        """Report intermediate metrics at `step` (None: the next step)."""
        step = self.next_step if step is None else int(step)
        self.next_step = step + 1
        self.on_report(step, as_metric_dict(metrics, allow_non_finite=True))

    def report_final(self, metric: Metric) -> None:
        """Remember the final metric (checked when the trial ends)."""
        self.final = metric

    def should_stop(self) -> bool:
        """Whether the runner asks the trial to stop early (evaluators may poll it)."""
        return False


@dataclass(frozen=True)
class TrialInput:
    """What an evaluator gets for one trial.

    `arch` is the trial's architecture; `build_model()` builds its fixed plain-PyTorch model,
    freshly initialised on every call (evaluators that answer from the architecture alone never
    call it); `reporter` receives the trial's intermediate metrics.
    """

    arch: Mapping[str, Any]
    build_model: Callable[[], torch.nn.Module]
    reporter: Reporter


class TrialEvaluator(ABC):
    """Scores one trial of an experiment: `evaluate_trial` is the one method the runner calls.

    The runner calls it with the trial's reporter installed, so `report_intermediate_result` and
    `report_final_result` reach `trial.reporter` too. Evaluators cross process boundaries by
    pickle, so keep them to picklable state (datasets, settings, importable functions).
    Evaluators that train the trial's model subclass `Evaluator` instead.

    A `ValueChoice` in a public attribute (directly, or inside lists, tuples, dicts and
    `serialize` recipes) is a hyper-parameter searched with the architecture: each trial runs a
    copy holding the trial's value (`choices.py`).
    """

    keyword_attributes: ClassVar[tuple[str, ...]] = ()
    """Attributes holding keyword arguments as a dict: a value choice in one is labelled by its
    key (`evaluator.lr`) rather than by the attribute (`evaluator.arguments.lr`)."""

    @abstractmethod
    def evaluate_trial(self, trial: TrialInput) -> Metric | None:
        """Evaluate `trial` and return its final metric, or None when the final metric was
        reported (`trial.reporter.report_final`, `report_final_result`)."""

    def _execute(self, model_cls: Any) -> float:
        """NNI's debug entry `evaluator._execute(Net)`: one trial of `Net`'s first candidates,
        run here with full tracebacks, as `Experiment.local_debug_run`; its main metric."""
        from archsearch.evaluator.run import debug_run  # run.py builds on this module

        return debug_run(self, model_cls)


class Evaluator(TrialEvaluator):
    """Trains and evaluates the fixed model of a trial: implement `evaluate`.

    `evaluate` may return None when it reported the final metric through the reporter.
    """

    @abstractmethod
    def evaluate(self, model: torch.nn.Module, reporter: Reporter) -> Metric | None:
        """Train and evaluate `model`; report intermediate metrics to `reporter`."""

    def evaluate_trial(self, trial: TrialInput) -> Metric | None:
        """Build the trial's fixed model and `evaluate` it."""
        return self.evaluate(trial.build_model(), trial.reporter)


def as_metric_dict(value: Any, *, allow_non_finite: bool = False) -> dict[str, Any]:
    """A metric as a dict of floats with its main value at "default"; InvalidMetricError if
    it is neither a number nor a dict holding a number at "default"."""
    if isinstance(value, Mapping):
        if "default" not in value:
            raise InvalidMetricError(
                f'a dict metric needs a "default" entry (the main value); got keys {list(value)}'
            )
        result = {str(k): _number(v, k) for k, v in value.items()}
    else:
        result = {"default": _number(value, "default")}
    default = result["default"]
    if not allow_non_finite and not math.isfinite(default):
        raise InvalidMetricError(f"the metric is {default} (not a finite number)")
    return result


def _number(value: Any, key: Any) -> Any:
    if isinstance(value, bool):
        raise InvalidMetricError(f"metric {key!r} is a bool, not a number")
    if isinstance(value, numbers.Real):
        return float(value)
    item = getattr(value, "item", None)  # 0-d torch tensors and numpy scalars
    if callable(item):
        try:
            number: Any = item()
        except (ValueError, RuntimeError) as exc:
            raise InvalidMetricError(f"metric {key!r} is not a single number: {exc}") from None
        if isinstance(number, numbers.Real):
            return float(number)
    if key != "default" and isinstance(value, (str, list, dict)):
        return value  # extra, non-numeric information is kept as it is
    raise InvalidMetricError(f"metric {key!r} is {type(value).__name__}, not a number")
