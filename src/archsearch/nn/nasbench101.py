"""NNI's NasBench101Cell: a DAG of up to `max_num_nodes` vertices (NAS-Bench-101, Ying et al.)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch

from archsearch.nn.input_choice import InputChoice
from archsearch.nn.layer_choice import LayerChoice
from archsearch.nn.repeat import Repeat
from archsearch.nn.value_choice import ValueChoice
from archsearch.nn.weights import copy_overlap
from archsearch.space import InvalidArchitectureError

OpFactory = Callable[[int], torch.nn.Module]
Projection = Callable[[int, int], torch.nn.Module]


class NasBench101Cell(torch.nn.Module):
    """The NAS-Bench-101 cell (NNI's signature and labels).

    Vertex 0 is the input (IN), the last active vertex the output (OUT); the number of vertices
    is a choice (`{label}/num_nodes`, 2..`max_num_nodes`). Interior vertex `i` applies an
    operation (`{label}/op_{i}`, one of `op_candidates`: factories `num_features -> Module`) to the
    sum of the vertices it takes as inputs (`{label}/input_{i}`: any subset of the earlier
    vertices; IN passes through `projection(in_features, features)`). OUT concatenates its
    interior inputs and adds the projected IN when connected to it. At most `max_num_edges`
    edges. Without a label the labels are attribute paths (`cell.ops.1`, `cell.inputs.2`).

    Fixed, each vertex gets the NAS-Bench-101 channel count (OUT's `out_features` split among
    the vertices feeding it) and its operation is built again at that width, inheriting the
    overlapping weights; an architecture with more edges than allowed, or whose OUT cannot be
    reached from IN, is refused. While searching every vertex has `out_features` channels and
    OUT sums its inputs, so weight-sharing trainers can mix and sample it.
    """

    def __init__(
        self,
        op_candidates: Sequence[OpFactory] | Mapping[str, OpFactory],
        in_features: int,
        out_features: int,
        projection: Projection,
        max_num_nodes: int = 7,
        max_num_edges: int = 9,
        label: str | None = None,
    ) -> None:
        super().__init__()
        if max_num_nodes < 2 or max_num_edges < 1:
            raise ValueError("NasBench101Cell needs max_num_nodes >= 2 and max_num_edges >= 1")
        factories = (
            dict(op_candidates)
            if isinstance(op_candidates, Mapping)
            else {str(i): f for i, f in enumerate(op_candidates)}
        )
        self.__dict__["_factories"] = (factories, projection)
        self.in_features = in_features
        self.out_features = out_features
        self.max_num_nodes = max_num_nodes
        self.max_num_edges = max_num_edges

        def named(suffix: str) -> str | None:
            return None if label is None else f"{label}/{suffix}"

        nodes = ValueChoice(list(range(2, max_num_nodes + 1)), label=named("num_nodes"))
        # A Repeat of parameter-free blocks carries the vertex-count decision to mutators.
        self.num_nodes = Repeat(torch.nn.Identity(), nodes)
        self.projections = torch.nn.ModuleList(
            projection(in_features, out_features) for _ in range(1, max_num_nodes)
        )
        self.ops = torch.nn.ModuleDict(
            {
                str(i): LayerChoice(
                    {name: f(out_features) for name, f in factories.items()},
                    label=named(f"op_{i}"),
                )
                for i in range(1, max_num_nodes - 1)
            }
        )
        self.inputs = torch.nn.ModuleDict(
            {
                str(i): InputChoice(i, None, label=named(f"input_{i}"))
                for i in range(1, max_num_nodes)
            }
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        last = self.num_nodes.current_depth() - 1
        tensors = [x]
        for i in range(1, last + 1):
            projected = self.projections[i - 1](x)
            summed = self.inputs[str(i)]([projected, *tensors[1:i]])
            node = torch.zeros_like(projected) if summed is None else summed
            tensors.append(self.ops[str(i)](node) if i < last else node)
        return tensors[-1]

    def _input(self, vertex: int) -> InputChoice:
        choice = self.inputs[str(vertex)]
        assert isinstance(choice, InputChoice)
        return choice

    def _op(self, vertex: int) -> LayerChoice:
        choice = self.ops[str(vertex)]
        assert isinstance(choice, LayerChoice)
        return choice

    def fixed(self, arch: Mapping[str, Any], visit: Callable[[Any], Any]) -> torch.nn.Module:
        """The plain cell of `arch` (called by `archsearch.fix` with its module fixer)."""
        count = int(arch[self.num_nodes.label])
        inputs = [list(arch[self._input(i).label]) for i in range(1, count)]
        edges = sum(len(sources) for sources in inputs)
        where = self.num_nodes.label
        if edges > self.max_num_edges:
            raise InvalidArchitectureError(
                f"NasBench101Cell of {where!r}: {edges} edges, at most max_num_edges="
                f"{self.max_num_edges} are allowed"
            )
        keep = _useful(inputs)
        if count - 1 not in keep:
            raise InvalidArchitectureError(
                f"NasBench101Cell of {where!r}: its output vertex is not reachable from the input "
                f"(inputs per vertex: {inputs})"
            )
        inputs = [
            [s for s in sources if s in keep] if i in keep else []
            for i, sources in enumerate(inputs, start=1)
        ]
        channels = vertex_channels(self.in_features, self.out_features, inputs)
        factories, projection = self.__dict__["_factories"]
        ops: dict[str, torch.nn.Module] = {}
        projections: dict[str, torch.nn.Module] = {}
        for i in range(1, count):
            if i not in keep:
                continue
            if 0 in inputs[i - 1]:
                made = projection(self.in_features, channels[i])
                copy_overlap(made, self.projections[i - 1])
                projections[str(i)] = made
            if i < count - 1:
                choice = self._op(i)
                name = arch[choice.label]
                made = factories[name](channels[i])
                copy_overlap(made, visit(choice[name]))
                ops[str(i)] = made
        return NasBench101FixedCell(inputs, channels, ops, projections)


def _useful(inputs: list[list[int]]) -> set[int]:
    """Vertices on a path from IN (0) to OUT (the last): NAS-Bench-101 prunes the others."""
    last = len(inputs)
    reached = {0}
    for i, sources in enumerate(inputs, start=1):
        if any(s in reached for s in sources):
            reached.add(i)
    leads = {last}
    for i in range(last - 1, -1, -1):
        if any(i in inputs[j - 1] for j in leads if j > i):
            leads.add(i)
    return reached & leads


def vertex_channels(in_features: int, out_features: int, inputs: list[list[int]]) -> list[int]:
    """Channels per vertex as NAS-Bench-101 computes them: OUT's channels split among the interior
    vertices feeding it (the first ones get one more when it does not divide), every other
    interior vertex as wide as the widest vertex it feeds; 0 for pruned vertices."""
    last = len(inputs)
    channels = [0] * (last + 1)
    channels[0], channels[last] = in_features, out_features
    feeding = [v for v in inputs[-1] if v != 0]
    if feeding:
        share, extra = divmod(out_features, len(feeding))
        for k, v in enumerate(sorted(feeding)):
            channels[v] = share + (1 if k < extra else 0)
    for v in range(last - 1, 0, -1):
        if v not in feeding:
            fed = [channels[d] for d in range(v + 1, last) if v in inputs[d - 1]]
            channels[v] = max(fed, default=0)
    return channels


class NasBench101FixedCell(torch.nn.Module):
    """A decided NasBench101Cell: the chosen operations wired as its architecture says."""

    def __init__(
        self,
        inputs: list[list[int]],
        channels: list[int],
        ops: dict[str, torch.nn.Module],
        projections: dict[str, torch.nn.Module],
    ) -> None:
        super().__init__()
        self.inputs = [list(s) for s in inputs]
        self.channels = list(channels)
        self.ops = torch.nn.ModuleDict(ops)
        self.projections = torch.nn.ModuleDict(projections)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        last = len(self.inputs)
        tensors: list[torch.Tensor | None] = [x]
        for i in range(1, last):
            sources = self.inputs[i - 1]
            if not sources:
                tensors.append(None)  # pruned: leads nowhere or is never reached
                continue
            terms = [_truncate(tensors[s], self.channels[i]) for s in sources if s != 0]
            if 0 in sources:
                terms.append(self.projections[str(i)](x))
            total = terms[0] if len(terms) == 1 else torch.stack(terms).sum(0)
            tensors.append(self.ops[str(i)](total))
        sources = self.inputs[-1]
        interior = [tensors[s] for s in sources if s != 0]
        if not interior:
            return self.projections[str(last)](x)  # type: ignore[no-any-return]
        out = interior[0] if len(interior) == 1 else torch.cat(interior, 1)  # type: ignore[arg-type]
        if 0 in sources:
            out = out + self.projections[str(last)](x)
        return out  # type: ignore[return-value]


def _truncate(t: torch.Tensor | None, channels: int) -> torch.Tensor:
    """A vertex feeding a narrower one passes its first `channels` channels (NAS-Bench-101)."""
    assert t is not None
    return t if t.size(1) == channels else t[:, :channels]
