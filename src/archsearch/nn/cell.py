"""Cell: a DARTS/NASNet-style cell whose nodes each pick operations and inputs."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import torch

from archsearch.nn.factory import call_factory, instantiate, required_positional
from archsearch.nn.fixed import cell_inputs, node_sum, preprocess
from archsearch.nn.input_choice import InputChoice
from archsearch.nn.layer_choice import LayerChoice

OpCandidates = Sequence[Any] | Mapping[str, Any]


class Cell(torch.nn.Module):
    """A cell of `num_nodes` nodes after `num_predecessors` inputs (NNI's Cell).

    Each node sums `num_ops_per_node` operations; each operation is a LayerChoice over
    `op_candidates` applied to one input picked by an InputChoice among the cell inputs and earlier
    nodes. Candidates are modules (copied per slot) or factories called as NNI calls them, with
    `(node_index, op_index, input_index)` (as many as they take). As in NNI, `node_index` and
    `input_index` number the cell's states, inputs first: node 0 is state `num_predecessors`.
    `input_index` is None in the searchable cell; `fix` calls a factory that takes it again with
    the chosen input, so a reduction cell can size an op by where its input comes from.
    The output concatenates the nodes along `concat_dim` (`merge_op="all"`), or only nodes no
    other node uses once fixed (`"loose_end"`); `output_node_indices` lists them.
    `preprocessor` (a module or any callable) maps the list of inputs to a list;
    `postprocessor(output, inputs)` (the same) gets the output and the list of inputs as given
    (before preprocessing), however the cell was called.
    Labels: `{label}/op_{node}_{op}` and `{label}/input_{node}_{op}` with a label (`node` counted
    from 0 here), else the attribute paths (`cell.ops.0.0`, `cell.inputs.0.0`).
    """

    def __init__(
        self,
        op_candidates: OpCandidates | Callable[..., Any],
        num_nodes: int,
        num_ops_per_node: int = 1,
        num_predecessors: int = 1,
        merge_op: str = "all",
        preprocessor: Callable[..., Any] | None = None,
        postprocessor: Callable[..., Any] | None = None,
        concat_dim: int = 1,
        *,
        label: str | None = None,
    ) -> None:
        super().__init__()
        if merge_op not in ("all", "loose_end"):
            raise ValueError(f"merge_op must be 'all' or 'loose_end', got {merge_op!r}")
        if num_nodes < 1 or num_ops_per_node < 1 or num_predecessors < 1:
            raise ValueError("num_nodes, num_ops_per_node and num_predecessors must be >= 1")
        self.label = label
        self.num_nodes = num_nodes
        self.num_ops_per_node = num_ops_per_node
        self.num_predecessors = num_predecessors
        self.merge_op = merge_op
        self.concat_dim = concat_dim
        self.preprocessor = preprocessor
        self.postprocessor = postprocessor
        self.output_node_indices = list(range(num_predecessors, num_predecessors + num_nodes))
        """The states concatenated into the output (NNI's name): every node while searching."""
        # Factories that take the input index, kept for `fix`, which calls them again with the
        # chosen one; modules and other factories are not kept (the built ops are what counts).
        self._factories = _input_factories(op_candidates)
        self.ops = torch.nn.ModuleList()
        self.inputs = torch.nn.ModuleList()
        for i in range(num_nodes):
            self.ops.append(
                torch.nn.ModuleList(
                    LayerChoice(
                        _candidates(op_candidates, num_predecessors + i, j, None),
                        label=_sub(label, "op", i, j),
                    )
                    for j in range(num_ops_per_node)
                )
            )
            self.inputs.append(
                torch.nn.ModuleList(
                    InputChoice(num_predecessors + i, 1, label=_sub(label, "input", i, j))
                    for j in range(num_ops_per_node)
                )
            )

    def forward(self, *inputs: torch.Tensor | list[torch.Tensor]) -> Any:
        given = cell_inputs(inputs, self.num_predecessors)
        states = preprocess(self.preprocessor, given)
        for node in range(self.num_nodes):
            ops: torch.nn.ModuleList = self.ops[node]  # type: ignore[assignment]
            choices: torch.nn.ModuleList = self.inputs[node]  # type: ignore[assignment]
            states.append(node_sum([op(c(states)) for op, c in zip(ops, choices, strict=True)]))
        # While inputs are undecided every node may be a loose end, so the search uses all nodes.
        output = torch.cat(states[self.num_predecessors :], dim=self.concat_dim)
        return output if self.postprocessor is None else self.postprocessor(output, given)

    def op_for_input(
        self, node: int, op: int, name: str, input_index: int
    ) -> torch.nn.Module | None:
        """Candidate `name` of op slot (`node` from 0, `op`) built for input `input_index`, or None
        when its factory does not take the input index (the searchable cell's op is the one)."""
        state = self.num_predecessors + node
        factories = self._factories
        if callable(factories):  # one callable giving the whole slot
            return _candidates(factories, state, op, input_index)[name]
        made = factories.get(name)
        return None if made is None else instantiate(made, state, op, input_index)


def _input_factories(op_candidates: Any) -> Callable[..., Any] | dict[str, Callable[..., Any]]:
    def takes_input(candidate: Any) -> bool:
        return _is_factory(candidate) and required_positional(candidate) >= 3

    if takes_input(op_candidates):
        return op_candidates  # type: ignore[no-any-return]
    if _is_factory(op_candidates):
        return {}
    named: Iterable[tuple[Any, Any]]
    if isinstance(op_candidates, Mapping):
        named = op_candidates.items()
    else:
        named = enumerate(op_candidates)
    return {str(name): c for name, c in named if takes_input(c)}


def _is_factory(candidate: Any) -> bool:
    return callable(candidate) and not isinstance(candidate, torch.nn.Module)


def _candidates(
    op_candidates: Any, node: int, op: int, input_index: int | None
) -> dict[str, torch.nn.Module]:
    if _is_factory(op_candidates):
        # A callable giving the whole list or dict for this slot (as many indices as it takes).
        op_candidates = call_factory(op_candidates, node, op, input_index)
    if isinstance(op_candidates, Mapping):
        return {name: instantiate(c, node, op, input_index) for name, c in op_candidates.items()}
    return {str(k): instantiate(c, node, op, input_index) for k, c in enumerate(op_candidates)}


def _sub(label: str | None, kind: str, node: int, op: int) -> str | None:
    return None if label is None else f"{label}/{kind}_{node}_{op}"
