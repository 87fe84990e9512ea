"""Building candidate modules from a module to copy or a factory to call."""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable
from typing import Any

import torch


def instantiate(module_or_factory: Any, *context: Any) -> torch.nn.Module:
    """A fresh module: a deep copy of a module, or a factory called with what it asks for.

    A factory receives as many leading values of `context` as it has required positional
    parameters, so `nn.ReLU`, `lambda: ...` and `lambda i: ...` all work.
    """
    if isinstance(module_or_factory, torch.nn.Module):
        return copy.deepcopy(module_or_factory)
    if not callable(module_or_factory):
        raise TypeError(f"expected a module or a callable returning one, got {module_or_factory!r}")
    made = call_factory(module_or_factory, *context)
    if not isinstance(made, torch.nn.Module):
        raise TypeError(f"{module_or_factory!r} returned {type(made).__name__}, not an nn.Module")
    return made


def call_factory(factory: Callable[..., Any], *context: Any) -> Any:
    """Call `factory` with as many leading values of `context` as it requires positionally."""
    return factory(*context[: required_positional(factory)])


def required_positional(fn: Callable[..., Any]) -> int:
    """How many positional parameters without a default `fn` has (0 when it cannot be told)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return 0
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sum(1 for p in params if p.kind in kinds and p.default is inspect.Parameter.empty)
