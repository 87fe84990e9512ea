"""The wiring modules a fixed model may contain (DESIGN.md §7); none has parameters of its own.

`FixedInputChoice` and `FixedCell`; `FixedLayerChoice` only where an NNI v1 LayerChoice asked for
its mask (`return_mask=True`) or for a list (`reduction="none"`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch

from archsearch.nn.reduction import reduce_tensors


class FixedInputChoice(torch.nn.Module):
    """Stands in for a decided InputChoice: picks the chosen inputs and reduces them.

    Like the InputChoice it replaces, it takes a list of tensors or a dict keyed by `names`.
    """

    def __init__(
        self,
        chosen: Sequence[int],
        reduction: str,
        n_candidates: int,
        names: Sequence[str] | None = None,
        return_mask: bool = False,
    ) -> None:
        super().__init__()
        self.chosen = list(chosen)
        self.reduction = reduction
        self.n_candidates = n_candidates
        self.names = list(names) if names is not None else [str(i) for i in range(n_candidates)]
        self.return_mask = return_mask

    def forward(self, inputs: Sequence[torch.Tensor] | Mapping[str, torch.Tensor]) -> Any:
        if isinstance(inputs, Mapping):
            output = reduce_tensors([inputs[self.names[i]] for i in self.chosen], self.reduction)
        else:
            output = reduce_tensors([inputs[i] for i in self.chosen], self.reduction)
        if not self.return_mask:
            return output
        mask = torch.zeros(self.n_candidates, dtype=torch.bool)
        mask[self.chosen] = True
        return output, mask

    def extra_repr(self) -> str:
        return f"chosen={self.chosen}, reduction={self.reduction!r}"


class FixedLayerChoice(torch.nn.Module):
    """Stands in for a decided NNI v1 LayerChoice that returns its mask or a list: runs the chosen
    candidate (its child, under its candidate name, so state-dict keys stay the supernet's)."""

    def __init__(
        self,
        name: str,
        module: torch.nn.Module,
        index: int,
        length: int,
        reduction: str,
        return_mask: bool,
    ) -> None:
        super().__init__()
        self.add_module(name, module)
        self.index = index
        self.length = length
        self.reduction = reduction
        self.return_mask = return_mask

    def forward(self, *args: Any) -> Any:
        output = next(iter(self.children()))(*args)
        if self.reduction == "none":
            output = [output]
        return (output, torch.arange(self.length) == self.index) if self.return_mask else output

    def extra_repr(self) -> str:
        return f"index={self.index}, reduction={self.reduction!r}, return_mask={self.return_mask}"


class FixedCell(torch.nn.Module):
    """Wires a decided Cell: each node sums its chosen ops applied to its chosen inputs.

    `output_node_indices` (NNI's name) are the states concatenated into the output, counted with
    the inputs first; with `merge_op="loose_end"` they are the nodes no other node uses.
    """

    def __init__(
        self,
        ops: list[list[torch.nn.Module]],
        inputs: list[list[int]],
        num_predecessors: int,
        output_node_indices: list[int],
        concat_dim: int,
        preprocessor: Callable[..., Any] | None,
        postprocessor: Callable[..., Any] | None,
    ) -> None:
        super().__init__()
        self.ops = torch.nn.ModuleList(torch.nn.ModuleList(node) for node in ops)
        self.inputs = [list(node) for node in inputs]
        self.num_predecessors = num_predecessors
        self.output_node_indices = list(output_node_indices)
        self.concat_dim = concat_dim
        self.preprocessor = preprocessor
        self.postprocessor = postprocessor

    def forward(self, *inputs: Any) -> Any:
        given = cell_inputs(inputs, self.num_predecessors)
        states = preprocess(self.preprocessor, given)
        for node, sources in enumerate(self.inputs):
            ops: torch.nn.ModuleList = self.ops[node]  # type: ignore[assignment]
            states.append(node_sum([op(states[j]) for op, j in zip(ops, sources, strict=True)]))
        chosen = [states[i] for i in self.output_node_indices]
        output = chosen[0] if len(chosen) == 1 else torch.cat(chosen, dim=self.concat_dim)
        return output if self.postprocessor is None else self.postprocessor(output, given)


def cell_inputs(inputs: tuple[Any, ...], expected: int) -> list[torch.Tensor]:
    """A cell's inputs as a new list, whether given one by one or as one list."""
    one_list = len(inputs) == 1 and isinstance(inputs[0], (list, tuple))
    flat = list(inputs[0]) if one_list else list(inputs)
    if len(flat) != expected:
        raise ValueError(f"this cell takes {expected} inputs (num_predecessors), got {len(flat)}")
    return flat


def preprocess(preprocessor: Any, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
    """The cell's first states: its inputs through `preprocessor`, as a list of their own (nodes
    are appended to it, and the postprocessor gets the inputs unchanged)."""
    return list(preprocessor(list(inputs))) if preprocessor is not None else list(inputs)


def node_sum(outputs: list[torch.Tensor]) -> torch.Tensor:
    """A cell node's value: the sum of its operations' outputs."""
    return outputs[0] if len(outputs) == 1 else torch.stack(outputs).sum(0)
