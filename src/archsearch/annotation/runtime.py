"""What spliced annotation code calls: each choice decided from the trial's parameters.

In a trial (`ARCHSEARCH_TRIAL_PARAMETERS` set) a choice is read under archsearch's label
(classic `{"_value", "_idx"}` entries or bare values) or under NNI's key (`chosen_layer` /
`chosen_inputs` of a `mutable_block`, the option of a `module/name/func` key). Standalone, every
choice takes its first candidate and the fewest inputs allowed, the first ones: deterministic.
A choice made once (a layer in a loop) stays made for the whole process.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from archsearch.annotation.space import layer_dimensions, variable_dimension
from archsearch.classic import (
    SpaceMismatchError,
    from_parameters,
    get_next_parameter,
    in_trial,
    report_final_result,
    report_intermediate_result,
)
from archsearch.space import Dimension, InputChoiceDim, LayerChoiceDim, SearchSpace, ValueChoiceDim

log = logging.getLogger("archsearch.annotation")

_decided: dict[str, Any] = {}
_layers: dict[str, tuple[str, list[str]]] = {}
"""Each mutable layer's decision (candidate name, chosen inputs), by label."""

__all__ = [
    "choice",
    "function_choice",
    "get_next_parameter",
    "mutable_layer",
    "randint",
    "report_final_result",
    "report_intermediate_result",
]


def mutable_layer(
    label: str,
    nni_ref: tuple[str, int],
    candidates: Mapping[str, Callable[[Any], Any]],
    fixed_inputs: list[Any],
    optional_inputs: Mapping[str, Callable[[], Any]],
    size: tuple[int, int],
    aggregate: Callable[[Any], Any] | None = None,
    post_process: Callable[[Any], Any] | None = None,
) -> Any:
    """Run the chosen candidate on `[fixed_inputs, chosen optional inputs]`.

    Only the chosen candidate's arguments and the chosen inputs are evaluated. With
    `aggregate`, the candidate gets `aggregate([fixed, chosen])`; with `post_process` the
    layer returns `post_process([candidate's output, chosen])`.
    """
    names, inputs = tuple(candidates), tuple(optional_inputs)
    name, chosen_names = _layer_decision(label, nni_ref, names, inputs, size)
    chosen = [optional_inputs[n]() for n in chosen_names]
    layer_inputs = [list(fixed_inputs), chosen]
    output = candidates[name](aggregate(layer_inputs) if aggregate else layer_inputs)
    return post_process([output, chosen]) if post_process else output


def choice(label: str, nni_key: str, values: list[Any], options: list[Callable[[], Any]]) -> Any:
    """The chosen option of `@nni.variable(nni.choice(...))` (only it is evaluated)."""
    dim = ValueChoiceDim(label, tuple(values))
    return options[dim.index(_decide(dim, lambda p: p.get(nni_key)))]()


def randint(label: str, nni_key: str, low: int, high: int) -> int:
    """The chosen integer of `@nni.variable(nni.randint(...))`, in [low, high)."""
    dim = variable_dimension(label, "randint", (low, high))
    return int(_decide(dim, lambda p: p.get(nni_key)))


def function_choice(
    label: str, nni_key: str, texts: list[str], calls: list[Callable[[], Any]]
) -> Any:
    """The result of the chosen call of `@nni.function_choice` (only it is called)."""
    return choice(label, nni_key, texts, calls)


def reset() -> None:
    """Forget the choices made (for tests that run several scripts in one process)."""
    _decided.clear()
    _layers.clear()


def _layer_decision(
    label: str,
    nni_ref: tuple[str, int],
    names: tuple[str, ...],
    inputs: tuple[str, ...],
    size: tuple[int, int],
) -> tuple[str, list[str]]:
    if label in _layers:  # decided: a layer in a forward pass runs every batch
        return _layers[label]
    dims = layer_dimensions(label, names, inputs, size)
    block, index = nni_ref

    def nni_value(dim: Dimension) -> Any:
        def read(params: Mapping[str, Any]) -> Any:
            layer = params.get(block, {})
            layer = layer.get(f"mutable_layer_{index}") if isinstance(layer, Mapping) else None
            if not isinstance(layer, Mapping):
                return None
            return layer.get("chosen_layer" if isinstance(dim, LayerChoiceDim) else "chosen_inputs")

        return read

    name = names[0]
    chosen = list(inputs) if size[0] == len(inputs) else []
    for dim in dims:
        value = _decide(dim, nni_value(dim))
        if isinstance(dim, LayerChoiceDim):
            name = value
        elif isinstance(dim, InputChoiceDim):
            chosen = [inputs[i] for i in value]
    _layers[label] = name, chosen
    return name, chosen


def _decide(dim: Dimension, nni_value: Callable[[Mapping[str, Any]], Any]) -> Any:
    """The canonical value of `dim` for this process (decided once)."""
    if dim.label in _decided:
        return _decided[dim.label]
    if not in_trial():
        value = dim.default()
        log.info("not in a trial (standalone): %s = %r", dim.label, value)
    else:
        params = get_next_parameter()
        source = "the trial parameters"
        if dim.label in params:
            value = from_parameters(
                SearchSpace([dim]), {dim.label: params[dim.label]}, source=source
            )
            value = value[dim.label]
        elif (nni := nni_value(params)) is not None:
            value = SearchSpace([dim]).validate({dim.label: nni})[dim.label]
        else:
            raise SpaceMismatchError(
                f"{source} have no value for the annotation labelled {dim.label!r} (nor under "
                f"its NNI key); they name {sorted(params)}. Was the space generated from "
                "another version of the code? Regenerate it with `archsearch ss-gen --annotations`."
            )
    _decided[dim.label] = value
    return value
