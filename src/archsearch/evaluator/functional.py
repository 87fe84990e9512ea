"""FunctionalEvaluator: a trial is a call of the user's function on the fixed model."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from archsearch.evaluator.base import Evaluator, Metric, Reporter
from archsearch.evaluator.reporter import reporting_to

if TYPE_CHECKING:
    import torch


class FunctionalEvaluator(Evaluator):
    """Evaluates a model by calling `function(model, **kwargs)` (NNI's FunctionalEvaluator).

    The function trains and evaluates the fixed model it is given. It reports with
    `archsearch.report_intermediate_result(x)` and `report_final_result(x)`, or returns the
    final metric (a number, or a dict with the main value at "default"); a returned metric wins.
    The evaluator pickles when `function` is defined at module level and the keyword arguments
    pickle, which is what sending it to a worker process needs.
    """

    def __init__(self, function: Callable[..., Any], /, **kwargs: Any) -> None:
        if not callable(function):
            raise TypeError(
                f"FunctionalEvaluator needs a function taking the model as first argument, "
                f"got {type(function).__name__} {function!r}"
            )
        _check_arguments(function, kwargs)
        self.function = function
        self.arguments: Mapping[str, Any] = dict(kwargs)

    def evaluate(self, model: torch.nn.Module, reporter: Reporter) -> Metric | None:
        """Call the function on `model` with `reporter` receiving its reports."""
        with reporting_to(reporter):
            result: Metric | None = self.function(model, **self.arguments)
        return result

    def __repr__(self) -> str:
        name = getattr(self.function, "__qualname__", repr(self.function))
        args = "".join(f", {k}={v!r}" for k, v in self.arguments.items())
        return f"FunctionalEvaluator({name}{args})"


_MODEL = object()
"""Stands in for the model when checking a function's signature at construction."""


def _check_arguments(function: Callable[..., Any], kwargs: Mapping[str, Any]) -> None:
    """TypeError unless `function(model, **kwargs)` is a valid call (missing or unknown
    arguments would otherwise fail every trial, one after another)."""
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):  # builtins without a signature: cannot check
        return
    try:
        signature.bind(_MODEL, **kwargs)
    except TypeError as exc:
        name = getattr(function, "__qualname__", repr(function))
        raise TypeError(
            f"FunctionalEvaluator({name}, ...) will call {name}(model"
            f"{''.join(f', {k}=...' for k in kwargs)}), which does not fit {name}{signature}: "
            f"{exc}"
        ) from None
