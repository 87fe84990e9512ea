"""The dashboard's pure parts: cell graphs from real Cell spaces, log tails, strict JSON,
quartiles and option names."""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

import pytest
import torch
from builders import EDGES, nb201_space

import archsearch
import archsearch.nn as nn
from archsearch.space import InputChoiceDim, LayerChoiceDim, SearchSpace, ValueChoiceDim
from archsearch.ui.cells import cell_graphs
from archsearch.ui.choices import quantile
from archsearch.ui.jsonable import clean
from archsearch.ui.logs import tail
from archsearch.ui.options import listed_options, option_text


def test_nas_bench_201_edges_make_one_cell_per_prefix() -> None:
    space = nb201_space()
    arch = space.sample(1)
    (cell,) = cell_graphs(space, arch)
    assert cell.nodes == ("0", "1", "2", "3") and cell.inputs == ("0",) and cell.output == "3"
    assert [(s, t) for s, t, _ in cell.edges] == [
        ("0", "1"),
        ("0", "2"),
        ("1", "2"),
        ("0", "3"),
        ("1", "3"),
        ("2", "3"),
    ]
    assert [op for *_, op in cell.edges] == [arch[e] for e in EDGES]
    prefixed = SearchSpace(
        [LayerChoiceDim(f"{p}.{e}", ("a", "b")) for p in ("stage0", "stage1") for e in EDGES]
    )
    cells = cell_graphs(prefixed, prefixed.default())
    assert [c.name for c in cells] == ["stage0", "stage1"]


class TwoCells(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        ops = {"conv": nn.Conv2d(4, 4, 3, padding=1), "skip": nn.Identity()}
        self.labelled = nn.Cell(
            ops, num_nodes=3, num_ops_per_node=2, num_predecessors=2, label="normal"
        )
        self.unlabelled = nn.Cell(ops, num_nodes=2, num_predecessors=1)
        self.width = nn.Linear(4, nn.ValueChoice([4, 8], label="width"))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.unlabelled(self.labelled([x, x]))


def test_darts_cells_from_a_real_cell_space() -> None:
    space = archsearch.search_space(TwoCells())
    arch = space.sample(3)
    cells = {c.name: c for c in cell_graphs(space, arch)}
    assert set(cells) == {"normal", "unlabelled"}
    normal = cells["normal"]
    assert normal.inputs == ("in0", "in1") and normal.nodes[-1] == "out"
    assert normal.nodes == ("in0", "in1", "0", "1", "2", "out")
    for node in range(3):
        for slot in range(2):
            (chosen,) = arch[f"normal/input_{node}_{slot}"]
            source = ("in0", "in1")[chosen] if chosen < 2 else str(chosen - 2)
            assert (source, str(node), arch[f"normal/op_{node}_{slot}"]) in normal.edges
    assert sum(label == "concat" for *_, label in normal.edges) == 3
    assert len(normal.edges) == 3 * 2 + 3
    assert cells["unlabelled"].inputs == ("in0",)
    json.dumps([c.to_json() for c in cells.values()])


def test_spaces_without_cells_have_no_graph() -> None:
    space = SearchSpace(
        [
            LayerChoiceDim("conv", ("a", "b")),
            ValueChoiceDim("2<-1", (1, 2)),
            LayerChoiceDim("x/op_0_0", ("a",)),
        ]
    )
    assert cell_graphs(space, space.default()) == []  # a value is not an op; an op needs its input


def test_tail_cuts_at_a_line_start_and_survives_bad_utf8(tmp_path: Path) -> None:
    log = tmp_path / "trial.log"
    log.write_bytes(b"first line\n" + b"\xff\xfe broken\n" + "d\u00e9j\u00e0 vu\n".encode() * 100)
    whole = tail(str(log), 10_000)
    assert not whole.truncated and whole.text.startswith("first line\n\ufffd\ufffd broken")
    end = tail(str(log), 30)
    assert end.truncated and end.size == log.stat().st_size
    assert end.text == "d\u00e9j\u00e0 vu\n" * (end.text.count("\n"))
    with pytest.raises(OSError):
        tail(str(tmp_path / "missing.log"))


def test_clean_makes_strict_json() -> None:
    value = {"a": math.nan, "b": [math.inf, -math.inf, 1.5, (1, 2)], 3: True, "c": None}
    assert clean(value) == {"a": None, "b": [None, None, 1.5, [1, 2]], "3": True, "c": None}
    json.dumps(clean(value), allow_nan=False)


@pytest.mark.parametrize("values", [[1.0], [3.0, 1.0], [5.0, 1.0, 2.0, 9.0, 4.0, 4.0, 7.0]])
def test_quantiles_match_the_statistics_module(values: list[float]) -> None:
    ordered = sorted(values)
    assert quantile(ordered, 0.5) == pytest.approx(statistics.median(values))
    if len(values) > 1:
        q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
        assert (quantile(ordered, 0.25), quantile(ordered, 0.75)) == pytest.approx((q1, q3))


def test_option_names() -> None:
    inputs = InputChoiceDim("skip", 3, None, ("x", "y", "z"))
    assert option_text(inputs, [0, 2]) == "x + z" and option_text(inputs, []) == "∅"
    assert option_text(ValueChoiceDim("k", (3, [1, 2])), [1, 2]) == "[1,2]"
    options = listed_options(inputs)
    assert options is not None and len(options) == 8
    assert listed_options(InputChoiceDim("many", 10, None, tuple("abcdefghij"))) is None
