"""FunctionalEvaluator: a trial is a call of the user's function on the fixed model."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from archsearch.evaluator.base import Evaluator, Metric, Reporter, TrialInput

if TYPE_CHECKING:
    import torch


class FunctionalEvaluator(Evaluator):
    """Evaluates a model by calling `function(model, **kwargs)` (NNI's FunctionalEvaluator).

    The function trains and evaluates the fixed model it is given. It reports with
    `archsearch.report_intermediate_result(x)` and `report_final_result(x)`, or returns the
    final metric (a number, or a dict with the main value at "default"); a returned metric wins.
    The evaluator pickles when `function` is defined at module level and the keyword arguments
    pickle, which is what sending it to a worker process needs.

    NNI 2.x passed the model *class*: a function whose first parameter is named `model_cls`
    (NNI's spelling, `def evaluate_model(model_cls): model = model_cls()`) is given a
    zero-argument factory instead, each call of which builds the trial's fixed model anew.

    A keyword argument may be a `ValueChoice` (`lr=ValueChoice([0.1, 0.01])`): it joins the
    experiment's search space (label `evaluator.lr` unless given) and the function receives the
    trial's value.
    """

    keyword_attributes = ("arguments",)

    def __init__(self, function: Callable[..., Any], /, **kwargs: Any) -> None:
        if not callable(function):
            raise TypeError(
                f"FunctionalEvaluator needs a function taking the model as first argument, "
                f"got {type(function).__name__} {function!r}"
            )
        try:
            signature: inspect.Signature | None = inspect.signature(function)
        except (TypeError, ValueError):  # builtins without a signature: cannot check
            signature = None
        if signature is not None:
            _check_arguments(function, signature, kwargs)
        self.function = function
        self.arguments: Mapping[str, Any] = dict(kwargs)
        first = next(iter(signature.parameters), None) if signature is not None else None
        self.wants_factory = first == FACTORY_PARAMETER

    def evaluate(self, model: torch.nn.Module, reporter: Reporter) -> Metric | None:
        """Call the function on `model` (a `model_cls` function: on a factory returning it).
        Its `report_*` calls reach the reporter that the trial runner installed."""
        result: Metric | None = self.function(
            (lambda: model) if self.wants_factory else model, **self.arguments
        )
        return result

    def evaluate_trial(self, trial: TrialInput) -> Metric | None:
        """Call the function on the trial's fixed model; a `model_cls` function gets
        `trial.build_model` itself, so every `model_cls()` is a freshly initialised model."""
        if self.wants_factory:
            result: Metric | None = self.function(trial.build_model, **self.arguments)
            return result
        return self.evaluate(trial.build_model(), trial.reporter)

    def __repr__(self) -> str:
        name = getattr(self.function, "__qualname__", repr(self.function))
        args = "".join(f", {k}={v!r}" for k, v in self.arguments.items())
        return f"FunctionalEvaluator({name}{args})"


FACTORY_PARAMETER = "model_cls"
"""A function whose first parameter has this name gets a model factory (NNI 2.x's call)."""

_MODEL = object()
"""Stands in for the model when checking a function's signature at construction."""


def _check_arguments(
    function: Callable[..., Any], signature: inspect.Signature, kwargs: Mapping[str, Any]
) -> None:
    """TypeError unless `function(model, **kwargs)` is a valid call (missing or unknown
    arguments would otherwise fail every trial, one after another)."""
    try:
        signature.bind(_MODEL, **kwargs)
    except TypeError as exc:
        name = getattr(function, "__qualname__", repr(function))
        raise TypeError(
            f"FunctionalEvaluator({name}, ...) will call {name}(model"
            f"{''.join(f', {k}=...' for k in kwargs)}), which does not fit {name}{signature}: "
            f"{exc}"
        ) from None
