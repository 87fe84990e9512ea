"""Cell graphs of an architecture, for the trial page to draw.

Two label conventions are recognised (anything else is simply not a cell):

- NAS-Bench-201 edges: `"1<-0"`, ..., `"3<-2"`, optionally after a prefix (`"cell.2<-1"`):
  node `j` receives the chosen operation applied to node `i`; node 0 is the cell input.
- archsearch's `Cell` (DARTS/NASNet style): `{label}/op_{node}_{slot}` with its input choice
  `{label}/input_{node}_{slot}`, or the attribute paths `{path}.ops.{node}.{slot}` and
  `{path}.inputs.{node}.{slot}`. Input indices below the number of predecessors are cell inputs
  (drawn `in0`, `in1`, ...), the rest are earlier nodes (`0`, `1`, ...); the output (`out`)
  concatenates every node.

The result is plain data (nodes and labelled edges); drawing happens in the browser.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from archsearch.space import InputChoiceDim, SearchSpace

_NB201 = re.compile(r"^(?P<prefix>.*?)(?P<dst>\d+)<-(?P<src>\d+)$")
_CELL_LABEL = re.compile(r"^(?P<prefix>.+)/(?P<kind>op|input)_(?P<node>\d+)_(?P<slot>\d+)$")
_CELL_PATH = re.compile(r"^(?P<prefix>.+)\.(?P<kind>ops|inputs)\.(?P<node>\d+)\.(?P<slot>\d+)$")


@dataclass(frozen=True)
class CellGraph:
    """One cell: node names in drawing order and `(source, target, label)` edges."""

    name: str
    nodes: tuple[str, ...]
    edges: tuple[tuple[str, str, str], ...]
    inputs: tuple[str, ...] = field(default=())
    output: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON the front end draws."""
        return {
            "name": self.name,
            "nodes": list(self.nodes),
            "inputs": list(self.inputs),
            "output": self.output,
            "edges": [{"source": s, "target": t, "label": label} for s, t, label in self.edges],
        }


def cell_graphs(space: SearchSpace, arch: Mapping[str, Any]) -> list[CellGraph]:
    """Every cell found in `arch` (NAS-Bench-201 edges or `Cell` op/input pairs), in label order."""
    return _nb201_cells(arch) + _darts_cells(space, arch)


def _nb201_cells(arch: Mapping[str, Any]) -> list[CellGraph]:
    groups: dict[str, list[tuple[int, int, str]]] = {}
    for label, value in arch.items():
        found = _NB201.match(label)
        if found and isinstance(value, str):
            src, dst = int(found["src"]), int(found["dst"])
            if src < dst:
                groups.setdefault(found["prefix"], []).append((src, dst, value))
    cells = []
    for prefix, edges in groups.items():
        last = max(dst for _, dst, _ in edges)
        nodes = tuple(str(i) for i in range(last + 1))
        cells.append(
            CellGraph(
                name=prefix.rstrip("./_-") or "cell",
                nodes=nodes,
                edges=tuple((str(s), str(d), op) for s, d, op in sorted(edges, key=_edge_order)),
                inputs=("0",),
                output=str(last),
            )
        )
    return cells


def _edge_order(edge: tuple[int, int, str]) -> tuple[int, int]:
    return edge[1], edge[0]


def _darts_cells(space: SearchSpace, arch: Mapping[str, Any]) -> list[CellGraph]:
    slots: dict[str, dict[tuple[int, int], dict[str, str]]] = {}
    for label in arch:
        found = _CELL_LABEL.match(label) or _CELL_PATH.match(label)
        if found:
            kind = "op" if found["kind"] in ("op", "ops") else "input"
            key = (int(found["node"]), int(found["slot"]))
            slots.setdefault(found["prefix"], {}).setdefault(key, {})[kind] = label
    cells = (_darts_cell(prefix, by_slot, space, arch) for prefix, by_slot in slots.items())
    return [cell for cell in cells if cell is not None]


def _darts_cell(
    prefix: str,
    by_slot: Mapping[tuple[int, int], Mapping[str, str]],
    space: SearchSpace,
    arch: Mapping[str, Any],
) -> CellGraph | None:
    if any(set(labels) != {"op", "input"} for labels in by_slot.values()):
        return None  # an op without its input choice (or the reverse): not a Cell
    first_input = by_slot.get((0, 0), {}).get("input")
    dim = space.get(first_input) if first_input else None
    if not isinstance(dim, InputChoiceDim):
        return None
    predecessors = dim.n_candidates  # node 0 chooses among the cell inputs only
    num_nodes = 1 + max(node for node, _ in by_slot)
    inputs = tuple(f"in{i}" for i in range(predecessors))
    nodes = inputs + tuple(str(i) for i in range(num_nodes)) + ("out",)
    edges = []
    for (node, _slot), labels in sorted(by_slot.items()):
        chosen = arch[labels["input"]]
        indices = chosen if isinstance(chosen, list) else [chosen]
        for index in indices:
            if not isinstance(index, int):
                return None
            source = inputs[index] if index < predecessors else str(index - predecessors)
            edges.append((source, str(node), str(arch[labels["op"]])))
    edges += [(str(i), "out", "concat") for i in range(num_nodes)]
    return CellGraph(prefix, nodes, tuple(edges), inputs=inputs, output="out")
