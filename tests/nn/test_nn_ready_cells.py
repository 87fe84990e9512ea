"""NNI's ready cells in archsearch.nn: NasBench201Cell, NasBench101Cell and AutoActivation —
their labels and spaces, and fixed models that compute what the search computed (one-shot use:
tests/oneshot/test_oneshot_ready_cells.py)."""

from __future__ import annotations

import pytest
import torch

import archsearch
import archsearch.nn as nn
from archsearch.mutator import ReplayMutator
from archsearch.nn.nasbench101 import vertex_channels
from archsearch.space import InvalidArchitectureError

X = torch.randn(4, 3)

NB201_OPS = {
    "zero": lambda c_in, c_out: ZeroTo(c_out),
    "linear": lambda c_in, c_out: torch.nn.Linear(c_in, c_out),
    "tanh_linear": lambda c_in, c_out: torch.nn.Sequential(
        torch.nn.Tanh(), torch.nn.Linear(c_in, c_out)
    ),
}


class ZeroTo(torch.nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.width = width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.new_zeros(x.shape[0], self.width)


def test_nasbench201_cell_labels_space_and_fix() -> None:
    cell = nn.NasBench201Cell(NB201_OPS, 3, 5, label="c")
    space = archsearch.search_space(cell)
    assert space.labels == ["c/0_1", "c/0_2", "c/1_2", "c/0_3", "c/1_3", "c/2_3"]
    assert space.size() == 3**6
    unlabelled = torch.nn.Sequential(
        nn.NasBench201Cell(list(NB201_OPS.values()), 3, 5, num_tensors=3)
    )
    assert archsearch.search_space(unlabelled).labels == [
        "0.layers.1.0",
        "0.layers.2.0",
        "0.layers.2.1",
    ]
    arch = {
        "c/0_1": "linear",
        "c/0_2": "zero",
        "c/1_2": "tanh_linear",
        "c/0_3": "linear",
        "c/1_3": "zero",
        "c/2_3": "linear",
    }
    replay = ReplayMutator(cell, arch)
    searched = cell(X)
    replay.unbind()
    fixed = archsearch.fix(cell, arch, inherit_weights=True)
    assert not any(isinstance(m, nn.Mutable) for m in fixed.modules())
    node1 = cell.layers[1][0]["linear"](X)
    node2 = cell.layers[2][1]["tanh_linear"](node1)
    expected = cell.layers[3][0]["linear"](X) + cell.layers[3][2]["linear"](node2)
    torch.testing.assert_close(fixed(X), expected)
    torch.testing.assert_close(searched, expected)


def test_auto_activation_labels_space_and_fix() -> None:
    act = nn.AutoActivation(unit_num=2, label="act")
    space = archsearch.search_space(act)
    assert space.labels == [
        "act__unary_0",
        "act__unary_1",
        "act__unary_2",
        "act__binary_0",
        "act__binary_1",
    ]
    assert [space[label].size() for label in space] == [22, 22, 22, 10, 10]
    arch = {
        "act__unary_0": "tanh",
        "act__unary_1": "sigmoid",
        "act__unary_2": 0,  # NNI's index spelling: UnaryIdentity
        "act__binary_0": "mul",
        "act__binary_1": "max",
    }
    fixed = archsearch.fix(act, arch)
    torch.testing.assert_close(fixed(X), torch.maximum(torch.tanh(X) * torch.sigmoid(X), X))
    assert archsearch.search_space(nn.AutoActivation()).labels == [
        "first_unary",
        "unaries.0",
        "binaries.0",
    ]
    with pytest.raises(ValueError, match="unit_num"):
        nn.AutoActivation(0)


def nb101_ops() -> dict[str, object]:
    return {
        "linear": lambda width: torch.nn.Linear(width, width),
        "relu": lambda width: torch.nn.ReLU(),
    }


def projection(c_in: int, c_out: int) -> torch.nn.Module:
    return torch.nn.Linear(c_in, c_out, bias=False)


def nb101(max_num_nodes: int = 5, max_num_edges: int = 9) -> nn.NasBench101Cell:
    return nn.NasBench101Cell(
        nb101_ops(), 3, 6, projection, max_num_nodes, max_num_edges, label="nb"
    )  # type: ignore[arg-type]


def test_nasbench101_space_has_nnis_labels() -> None:
    space = archsearch.search_space(nb101())
    assert space.labels == [
        "nb/num_nodes",
        "nb/op_1",
        "nb/op_2",
        "nb/op_3",
        "nb/input_1",
        "nb/input_2",
        "nb/input_3",
        "nb/input_4",
    ]
    assert list(space["nb/num_nodes"].options()) == [2, 3, 4, 5]
    assert space["nb/input_3"].size() == 2**3  # any subset of IN, vertex 1, vertex 2
    assert nb101()(X).shape == (4, 6)  # standalone: IN projected straight to OUT


def test_vertex_channels_split_the_output_among_its_inputs() -> None:
    # 0 → 1 → 2, 0 → 3; OUT (4) takes 2 and 3: 7 channels split 4 + 3; 1 as wide as 2.
    assert vertex_channels(3, 7, [[0], [1], [0], [2, 3]]) == [3, 4, 4, 3, 7]
    assert vertex_channels(3, 6, [[0]]) == [3, 6]


def test_nasbench101_fix_builds_the_cell_at_nasbench_widths() -> None:
    cell = nb101()
    arch = {
        "nb/num_nodes": 5,
        "nb/op_1": "linear",
        "nb/op_2": "relu",
        "nb/op_3": "linear",
        "nb/input_1": [0],
        "nb/input_2": [1],
        "nb/input_3": [0],
        "nb/input_4": [0, 2, 3],
    }
    fixed = archsearch.fix(cell, arch, inherit_weights=True)
    assert isinstance(fixed, nn.NasBench101FixedCell) and fixed.channels == [3, 3, 3, 3, 6]
    assert fixed.ops["1"].weight.shape == (3, 3)
    torch.testing.assert_close(fixed.ops["1"].weight, cell.ops["1"]["linear"].weight[:3, :3])
    p = fixed.projections
    v1 = fixed.ops["1"](p["1"](X))
    v2 = torch.relu(v1)
    v3 = fixed.ops["3"](p["3"](X))
    torch.testing.assert_close(fixed(X), torch.cat([v2, v3], 1) + p["4"](X))
    # A vertex that leads nowhere is pruned, as NAS-Bench-101 does.
    dangling = dict(arch, **{"nb/input_4": [2]})
    pruned = archsearch.fix(cell, dangling)
    assert set(pruned.ops) == {"1", "2"} and pruned(X).shape == (4, 6)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"nb/input_4": []}, "not reachable from the input"),
        ({"nb/input_1": [], "nb/input_4": [1]}, "not reachable from the input"),
    ],
)
def test_nasbench101_refuses_cells_without_a_path(change: dict[str, object], message: str) -> None:
    arch = archsearch.search_space(nb101()).default() | {"nb/num_nodes": 5} | change
    with pytest.raises(InvalidArchitectureError, match=message):
        archsearch.fix(nb101(), arch)


def test_nasbench101_refuses_too_many_edges() -> None:
    arch = archsearch.search_space(nb101(max_num_edges=3)).default()
    arch.update({"nb/num_nodes": 4, "nb/input_1": [0], "nb/input_2": [0, 1], "nb/input_3": [1, 2]})
    with pytest.raises(InvalidArchitectureError, match="5 edges, at most max_num_edges=3"):
        archsearch.fix(nb101(max_num_edges=3), arch)
