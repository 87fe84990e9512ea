"""ModelParameterChoice: a choice that is a plain value while the model is built (NNI 2.x).

Unlike a ValueChoice it can drive Python itself (`if`, `range`, `torch.zeros(dim)`), so the
model cannot be re-sized afterwards: `fix` builds the model again with the chosen values. That
needs the constructor's arguments, which `@model_wrapper` records; one-shot search (one model
whose parts switch while it runs) cannot follow such a choice, as in NNI.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch

from archsearch.nn.value_choice import same_choice


@dataclass
class _Frame:
    """The construction of one wrapped model: the values to use and the choices met."""

    fixed: Mapping[str, Any] | None = None
    found: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    claimed: bool = False
    """Whether a wrapped model owns this frame (models built inside its `__init__` join it)."""


_local = threading.local()


def _frame() -> _Frame | None:
    found: _Frame | None = getattr(_local, "frame", None)
    return found


@contextmanager
def _recording(fixed: Mapping[str, Any] | None = None) -> Iterator[_Frame]:
    """The frame a wrapped model's `__init__` runs in: the current one, or a new one."""
    outer = _frame()
    if outer is not None and fixed is None:
        yield outer
        return
    frame = _Frame(fixed)
    _local.frame = frame
    try:
        yield frame
    finally:
        _local.frame = outer


class ModelParameterChoice:
    """Choose one of `candidates`; what you get is a plain value (NNI's `ModelParameterChoice`).

    Call it inside the `__init__` of a `@model_wrapper` model, with an explicit `label`. Building
    the model gives `default` (a candidate, or a function of the candidates such as
    `ModelParameterChoice.LAST`; the first candidate when omitted); `archsearch.fix(model, arch)`
    builds the model again with the chosen value. `prior` is accepted and, as in NNI, unused.
    """

    def __new__(  # returns the value, never an instance (as NNI does)
        cls,
        candidates: Sequence[Any],
        *,
        prior: Sequence[float] | None = None,
        default: Any = None,
        label: str | None = None,
    ) -> Any:
        frame = _frame()
        if frame is None:
            raise TypeError(
                "ModelParameterChoice must be called in the __init__ of a model decorated with "
                "@model_wrapper (that is how fix() can build the model again with another value)"
            )
        if not isinstance(label, str) or not label:
            raise ValueError(
                "ModelParameterChoice needs label=... (a plain value has no attribute path)"
            )
        values = tuple(candidates)
        if not values:
            raise ValueError(f"ModelParameterChoice {label!r} needs at least one candidate")
        known = frame.found.setdefault(label, values)
        if known != values:
            raise ValueError(
                f"label {label!r} is used by two ModelParameterChoices with different candidates "
                f"{list(known)} and {list(values)}"
            )
        if frame.fixed is not None and label in frame.fixed:
            return _candidate(values, frame.fixed[label], label)
        if default is None:
            return values[0]
        if any(same_choice(default, v) for v in values):
            return default
        if callable(default):
            return _candidate(values, default(list(values)), label)
        raise ValueError(
            f"ModelParameterChoice {label!r}: default {default!r} is neither a candidate nor a "
            "function of the candidates"
        )

    @staticmethod
    def FIRST(sequence: Sequence[Any]) -> Any:
        """The first candidate (for `default=`)."""
        return sequence[0]

    @staticmethod
    def LAST(sequence: Sequence[Any]) -> Any:
        """The last candidate (for `default=`)."""
        return sequence[-1]


def _candidate(values: tuple[Any, ...], value: Any, label: str) -> Any:
    for candidate in values:
        if same_choice(candidate, value):
            return candidate
    raise ValueError(f"ModelParameterChoice {label!r}: {value!r} is not one of {list(values)}")


def parameter_choices(module: torch.nn.Module) -> dict[str, tuple[Any, ...]]:
    """The ModelParameterChoices met while `module` (a @model_wrapper model) was built."""
    found: dict[str, tuple[Any, ...]] = module.__dict__.get("_parameter_choices", {})
    return found


def rebuild(model: torch.nn.Module, values: Mapping[str, Any]) -> torch.nn.Module:
    """A new instance of `model`'s class, built with the same arguments and `values` for its
    ModelParameterChoices."""
    args, kwargs = model.__dict__["_init_args"]
    with _recording(values):
        built: torch.nn.Module = type(model)(*args, **kwargs)
    return built.train(model.training)


def wrap_init(init: Callable[..., None]) -> Callable[..., None]:
    """`__init__` of a @model_wrapper class: records its ModelParameterChoices and arguments."""

    def __init__(self: torch.nn.Module, *args: Any, **kwargs: Any) -> None:
        with _recording() as frame:
            owner, frame.claimed = not frame.claimed, True
            init(self, *args, **kwargs)
        if owner and frame.found:
            self.__dict__["_parameter_choices"] = dict(frame.found)
            self.__dict__["_init_args"] = (args, kwargs)

    __init__.__wrapped__ = init  # type: ignore[attr-defined]
    __init__.__doc__ = init.__doc__
    return __init__
