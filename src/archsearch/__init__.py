"""archsearch: neural architecture search for PyTorch.

The top level imports no torch, so torch-free layers (`archsearch.space`, `archsearch.strategy`,
`archsearch.storage`) stay torch-free; the functions below import `archsearch.nn` when called.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from archsearch.space import Architecture, InvalidArchitectureError, SearchSpace

if TYPE_CHECKING:
    import torch

    from archsearch.nn.value_choice import ValueChoice

__version__ = "0.1.0"


def search_space(model: torch.nn.Module) -> SearchSpace:
    """The search space of a model: each choice's label and options, in model order."""
    from archsearch.nn.walk import search_space as impl

    return impl(model)


def fix(
    model: torch.nn.Module, arch: Mapping[str, Any], *, inherit_weights: bool = False
) -> torch.nn.Module:
    """A new plain PyTorch model running `arch` of `model` (see `archsearch.nn.fix`)."""
    from archsearch.nn.fix import fix as impl

    return impl(model, arch, inherit_weights=inherit_weights)


def apply_fixed_architecture(
    model: torch.nn.Module, arch: Mapping[str, Any] | str | os.PathLike[str]
) -> torch.nn.Module:
    """Fix `model` in place to `arch` (a dict or a JSON file path) and return it (NNI's name)."""
    from archsearch.nn.fix import apply_fixed_architecture as impl

    return impl(model, arch)


def choice(label: str, values: Sequence[Any]) -> ValueChoice:
    """NNI 3.0's `nni.choice(label, values)`: `archsearch.nn.ValueChoice(values, label=label)`."""
    from archsearch.nn.value_choice import ValueChoice as impl

    return impl(values, label=label)


def report_intermediate_result(metric: Any, step: int | None = None) -> None:
    """Report an intermediate metric of the running trial (a number, or a dict with
    "default"); outside a trial it is only logged (NNI's name)."""
    from archsearch.evaluator.reporter import report_intermediate_result as impl

    impl(metric, step)


def report_final_result(metric: Any) -> None:
    """Report the final metric of the running trial (a number, or a dict with "default");
    outside a trial it is only logged (NNI's name)."""
    from archsearch.evaluator.reporter import report_final_result as impl

    impl(metric)


Traced = TypeVar("Traced")


def trace(obj: Traced) -> Traced:
    """Return `obj` unchanged (NNI's `nni.trace`, kept so NNI code runs unchanged).

    NNI recorded a class's constructor arguments to rebuild the object in a trial. archsearch
    sends an object to a trial by import reference or pickle, so nothing needs tracing; to
    rebuild something in the trial instead (a dataset read from disk), use
    `archsearch.evaluator.serialize(cls, *args, **kwargs)`."""
    return obj


__all__ = [
    "Architecture",
    "InvalidArchitectureError",
    "SearchSpace",
    "__version__",
    "apply_fixed_architecture",
    "choice",
    "fix",
    "report_final_result",
    "report_intermediate_result",
    "search_space",
    "trace",
]
