"""NNI's NasBench201Cell: a 4-node DAG whose every edge is a LayerChoice (NAS-Bench-201)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import torch

from archsearch.nn.layer_choice import LayerChoice

OpFactory = Callable[[int, int], torch.nn.Module]


class NasBench201Cell(torch.nn.Module):
    """The NAS-Bench-201 cell (NNI's signature): `num_tensors` nodes, node 0 the input; node `i`
    sums one operation per earlier node `j`, chosen among `op_candidates`, and the last node is
    the output.

    `op_candidates` is a list or a dict name → factory `(in_features, out_features) -> Module`;
    an edge from the input gets `in_features`, others `out_features`. Labels:
    `{label}/{j}_{i}` with a label (NNI's), else the attribute paths (`cell.layers.2.1`). Fixed,
    the cell keeps its wiring and holds the chosen operations.
    """

    def __init__(
        self,
        op_candidates: Sequence[OpFactory] | Mapping[str, OpFactory],
        in_features: int,
        out_features: int,
        num_tensors: int = 4,
        label: str | None = None,
    ) -> None:
        super().__init__()
        if num_tensors < 2:
            raise ValueError(
                f"num_tensors must be >= 2 (the input and one node), got {num_tensors}"
            )
        factories = (
            dict(op_candidates)
            if isinstance(op_candidates, Mapping)
            else {str(i): f for i, f in enumerate(op_candidates)}
        )
        self.in_features = in_features
        self.out_features = out_features
        self.num_tensors = num_tensors
        self.layers = torch.nn.ModuleList()
        for node in range(num_tensors):
            edges = torch.nn.ModuleList()
            for source in range(node):
                width = in_features if source == 0 else out_features
                candidates = {name: f(width, out_features) for name, f in factories.items()}
                edge_label = None if label is None else f"{label}/{source}_{node}"
                edges.append(LayerChoice(candidates, label=edge_label))
            self.layers.append(edges)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for node in range(1, self.num_tensors):
            edges: torch.nn.ModuleList = self.layers[node]  # type: ignore[assignment]
            total: torch.Tensor = edges[0](nodes[0])
            for source in range(1, node):
                total = total + edges[source](nodes[source])
            nodes.append(total)
        return nodes[-1]
