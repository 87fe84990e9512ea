"""Repeat and Cell: shapes, labels, standalone behaviour and fixed models vs hand computation."""

from __future__ import annotations

from typing import Any

import pytest
import torch

import archsearch
import archsearch.nn as nn
from archsearch.space import InputChoiceDim, LayerChoiceDim, ValueChoiceDim


def affine(i: int) -> torch.nn.Module:
    """A block whose effect identifies its index: y = x * (i + 2) + i."""
    lin = torch.nn.Linear(1, 1)
    with torch.no_grad():
        lin.weight.fill_(i + 2.0)
        lin.bias.fill_(float(i))
    return lin


def chain(x: torch.Tensor, depth: int) -> torch.Tensor:
    for i in range(depth):
        x = x * (i + 2) + i
    return x


def archsearch_classes(model: torch.nn.Module) -> list[str]:
    return [
        type(m).__name__ for m in model.modules() if type(m).__module__.startswith("archsearch")
    ]


X1 = torch.tensor([[1.0], [-2.0], [0.5]])

# --- Repeat -------------------------------------------------------------------------------------


def test_int_depth_runs_every_block_and_is_not_a_choice() -> None:
    rep = nn.Repeat(affine, 3)
    model = nn.Sequential(rep)
    assert len(rep.blocks) == 3
    assert archsearch.search_space(model).labels == []
    torch.testing.assert_close(model(X1), chain(X1, 3))
    fixed = archsearch.fix(model, {})
    assert type(fixed[0]) is torch.nn.Sequential
    assert len(fixed[0]) == 3


def test_range_depth_includes_both_ends_and_runs_minimum_standalone() -> None:
    model = nn.Sequential(nn.Repeat(affine, (2, 4)))
    space = archsearch.search_space(model)
    assert space["0"] == ValueChoiceDim("0", (2, 3, 4))
    assert space.default() == {"0": 2}
    assert len(model[0].blocks) == 4  # built for the largest depth
    torch.testing.assert_close(model(X1), chain(X1, 2))


@pytest.mark.parametrize("depth", [2, 3, 4])
def test_fixed_range_depth_is_plain_sequential_of_chosen_blocks(depth: int) -> None:
    model = nn.Sequential(nn.Repeat(affine, (2, 4)))
    fixed = archsearch.fix(model, {"0": depth}, inherit_weights=True)
    assert type(fixed[0]) is torch.nn.Sequential
    assert len(fixed[0]) == depth
    assert archsearch_classes(fixed) == []
    torch.testing.assert_close(fixed(X1), chain(X1, depth))


def test_depth_zero_is_identity() -> None:
    model = nn.Sequential(nn.Repeat(affine, (0, 2)))
    torch.testing.assert_close(model(X1), X1)
    fixed = archsearch.fix(model, {"0": 0})
    assert len(fixed[0]) == 0
    torch.testing.assert_close(fixed(X1), X1)


def test_value_choice_depth_uses_its_label_and_first_candidate() -> None:
    model = nn.Sequential(nn.Repeat(affine, nn.ValueChoice([3, 1], label="depth")))
    space = archsearch.search_space(model)
    assert space.labels == ["depth"]
    assert model[0].label == "depth"
    torch.testing.assert_close(model(X1), chain(X1, 3))  # first candidate, not the minimum
    fixed = archsearch.fix(model, {"depth": 1}, inherit_weights=True)
    torch.testing.assert_close(fixed(X1), chain(X1, 1))


def test_explicit_repeat_label_and_key() -> None:
    model = nn.ModuleDict(
        {"a": nn.Repeat(affine, (1, 2), label="d1"), "b": nn.Repeat(affine, (1, 3), key="d2")}
    )
    assert archsearch.search_space(model).labels == ["d1", "d2"]
    assert model["b"].key == "d2"


def test_unlabelled_value_choice_depth_takes_the_path() -> None:
    model = nn.Sequential(nn.Identity(), nn.Repeat(affine, nn.ValueChoice([1, 2])))
    assert archsearch.search_space(model).labels == ["1"]


def test_shared_depth_choice_is_one_decision() -> None:
    depth = nn.ValueChoice([1, 2], label="depth")
    model = nn.Sequential(nn.Repeat(affine, depth), nn.Repeat(affine, depth))
    assert archsearch.search_space(model).labels == ["depth"]
    fixed = archsearch.fix(model, {"depth": 2})
    assert [len(fixed[0]), len(fixed[1])] == [2, 2]


def test_factory_receives_the_repetition_index() -> None:
    seen: list[int] = []

    def factory(i: int) -> torch.nn.Module:
        seen.append(i)
        return torch.nn.Linear(i + 1, i + 2)  # shapes only chain in index order

    rep = nn.Repeat(factory, (1, 3))
    assert seen == [0, 1, 2]
    assert [b.in_features for b in rep.blocks] == [1, 2, 3]
    fixed = archsearch.fix(nn.Sequential(rep), {"0": 3})
    assert fixed(torch.randn(2, 1)).shape == (2, 4)


def test_factory_without_arguments() -> None:
    rep = nn.Repeat(lambda: torch.nn.Linear(2, 2), 2)
    assert rep.blocks[0] is not rep.blocks[1]
    rep2 = nn.Repeat(nn.ReLU, 2)  # a class works as a factory too
    assert all(type(b) is torch.nn.ReLU for b in rep2.blocks)


def test_module_block_is_copied_per_repetition() -> None:
    block = torch.nn.Linear(2, 2)
    rep = nn.Repeat(block, 3)
    assert all(b is not block for b in rep.blocks)
    assert len({id(b) for b in rep.blocks}) == 3
    assert len({id(b.weight) for b in rep.blocks}) == 3
    for b in rep.blocks:  # copies start from the block's weights
        torch.testing.assert_close(b.weight, block.weight)
    with torch.no_grad():
        rep.blocks[0].weight.add_(1.0)
    torch.testing.assert_close(rep.blocks[1].weight, block.weight)


def test_choices_inside_blocks_are_labelled_per_block() -> None:
    def block() -> torch.nn.Module:
        return nn.Sequential(nn.LayerChoice([nn.ReLU(), nn.Tanh()]))

    model = nn.Sequential(nn.Repeat(block, (1, 2), label="depth"))
    space = archsearch.search_space(model)
    assert set(space.labels) == {"depth", "0.0.0", "0.1.0"}
    fixed = archsearch.fix(model, {"depth": 2, "0.0.0": 1, "0.1.0": 0})
    assert type(fixed[0][0][0]) is torch.nn.Tanh
    assert type(fixed[0][1][0]) is torch.nn.ReLU
    x = torch.tensor([-1.0, 2.0])
    torch.testing.assert_close(fixed(x), torch.relu(torch.tanh(x)))


def test_fixed_repeat_state_dict_keys_match_supernet() -> None:
    model = nn.Sequential(nn.Repeat(affine, (1, 3)))
    fixed = archsearch.fix(model, {"0": 2})
    assert list(fixed.state_dict()) == ["0.0.weight", "0.0.bias", "0.1.weight", "0.1.bias"]
    assert set(fixed.state_dict()) <= set(model.state_dict())


@pytest.mark.parametrize(
    ("depth", "error"),
    [
        ((3, 1), ValueError),
        ((1, 2, 3), ValueError),
        ((-1, 2), ValueError),
        ((1.0, 2), ValueError),
        ("3", TypeError),
        (2.0, TypeError),
        (True, TypeError),
        ([1, 2], TypeError),
    ],
)
def test_invalid_depth_raises(depth: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        nn.Repeat(affine, depth)


def test_invalid_value_choice_depth_raises() -> None:
    with pytest.raises(ValueError):
        nn.Repeat(affine, nn.ValueChoice([1, -1]))
    with pytest.raises(ValueError):
        nn.Repeat(affine, nn.ValueChoice([1, 2.5]))


def test_factory_must_return_a_module() -> None:
    with pytest.raises(TypeError, match=r"not an nn\.Module"):
        nn.Repeat(lambda: 3, 2)
    with pytest.raises(TypeError):
        nn.Repeat(3, 2)  # type: ignore[arg-type]


# --- Cell ---------------------------------------------------------------------------------------

C = 4  # channels of every cell state


def scaled_ops() -> dict[str, torch.nn.Module]:
    return {"lin": torch.nn.Linear(C, C), "relu": torch.nn.ReLU(), "skip": torch.nn.Identity()}


def randomise(model: torch.nn.Module) -> None:
    """Give every parameter distinct values (copies of a candidate start out identical)."""
    torch.manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn_like(p))


@pytest.mark.parametrize("num_nodes", [1, 3])
@pytest.mark.parametrize("num_ops_per_node", [1, 2])
@pytest.mark.parametrize("num_predecessors", [1, 2])
def test_cell_shapes_and_space(
    num_nodes: int, num_ops_per_node: int, num_predecessors: int
) -> None:
    cell = nn.Cell(scaled_ops(), num_nodes, num_ops_per_node, num_predecessors, label="c")
    inputs = [torch.randn(5, C) for _ in range(num_predecessors)]
    assert cell(*inputs).shape == (5, C * num_nodes)
    assert cell(inputs).shape == (5, C * num_nodes)  # one list works too
    space = archsearch.search_space(cell)
    assert len(space) == 2 * num_nodes * num_ops_per_node
    for i in range(num_nodes):
        for j in range(num_ops_per_node):
            assert space[f"c/op_{i}_{j}"] == LayerChoiceDim(
                f"c/op_{i}_{j}", ("lin", "relu", "skip")
            )
            names = tuple(str(k) for k in range(num_predecessors + i))
            assert space[f"c/input_{i}_{j}"] == InputChoiceDim(
                f"c/input_{i}_{j}", num_predecessors + i, 1, names
            )
    for arch in (space.default(), space.sample(0), space.sample(1)):
        fixed = archsearch.fix(cell, arch)
        assert isinstance(fixed, nn.FixedCell)
        assert fixed(*inputs).shape == (5, C * num_nodes)


def test_cell_default_labels_are_attribute_paths() -> None:
    model = nn.ModuleDict({"cell": nn.Cell([nn.ReLU(), nn.Tanh()], 2, 2)})
    assert archsearch.search_space(model).labels == [
        "cell.ops.0.0", "cell.ops.0.1", "cell.ops.1.0", "cell.ops.1.1",
        "cell.inputs.0.0", "cell.inputs.0.1", "cell.inputs.1.0", "cell.inputs.1.1",
    ]  # fmt: skip


def hand_cell(
    fixed: Any, inputs: list[torch.Tensor], sources: list[list[int]], outputs: list[int]
) -> torch.Tensor:
    """Recompute a fixed cell from its own operator modules and the chosen wiring."""
    states = list(inputs)
    for node, node_sources in enumerate(sources):
        total = torch.zeros_like(states[0])
        for op, src in zip(fixed.ops[node], node_sources, strict=True):
            x = states[src]
            if isinstance(op, torch.nn.Linear):
                total = total + x @ op.weight.T + op.bias
            elif isinstance(op, torch.nn.ReLU):
                total = total + x.clamp(min=0)
            else:
                total = total + x
        states.append(total)
    return torch.cat([states[i] for i in outputs], dim=1)


ARCH = {
    "c/op_0_0": "lin", "c/op_0_1": "relu",
    "c/op_1_0": "lin", "c/op_1_1": "skip",
    "c/op_2_0": "relu", "c/op_2_1": "lin",
    "c/input_0_0": [1], "c/input_0_1": [0],
    "c/input_1_0": [2], "c/input_1_1": [0],
    "c/input_2_0": [3], "c/input_2_1": [1],
}  # fmt: skip
SOURCES = [[1, 0], [2, 0], [3, 1]]


@pytest.mark.parametrize(("merge_op", "outputs"), [("all", [2, 3, 4]), ("loose_end", [4])])
def test_fixed_cell_equals_hand_computation(merge_op: str, outputs: list[int]) -> None:
    cell = nn.Cell(scaled_ops(), 3, 2, 2, merge_op=merge_op, label="c")
    randomise(cell)
    fixed = archsearch.fix(cell, ARCH, inherit_weights=True)
    inputs = [torch.randn(6, C), torch.randn(6, C)]
    out = fixed(*inputs)
    assert out.shape == (6, C * len(outputs))
    torch.testing.assert_close(out, hand_cell(fixed, inputs, SOURCES, outputs))
    # The ops are the supernet's chosen candidates (inherited weights).
    torch.testing.assert_close(fixed.ops[0][0].weight, cell.ops[0][0]["lin"].weight)
    torch.testing.assert_close(fixed.ops[2][1].weight, cell.ops[2][1]["lin"].weight)
    assert not torch.equal(fixed.ops[0][0].weight, fixed.ops[1][0].weight)
    # Only the wiring module is an archsearch class; its children are plain torch.
    assert archsearch_classes(fixed) == ["FixedCell"]
    assert list(fixed.parameters()) and all(
        type(m).__module__.startswith("torch") for m in fixed.ops.modules()
    )


def test_loose_end_partial_use() -> None:
    cell = nn.Cell(scaled_ops(), 3, 1, 1, merge_op="loose_end", label="c")
    arch = {
        "c/op_0_0": "skip", "c/op_1_0": "skip", "c/op_2_0": "skip",
        "c/input_0_0": [0], "c/input_1_0": [1], "c/input_2_0": [0],
    }  # fmt: skip
    fixed = archsearch.fix(cell, arch)
    x = torch.randn(2, C)
    # Node 0 (state 1) feeds node 1, so the loose ends are nodes 1 and 2.
    torch.testing.assert_close(fixed(x), torch.cat([x, x], dim=1))


def test_cell_standalone_equals_fixed_default() -> None:
    cell = nn.Cell(scaled_ops(), 3, 2, 2, merge_op="loose_end")
    randomise(cell)
    inputs = [torch.randn(3, C), torch.randn(3, C)]
    fixed = archsearch.fix(cell, archsearch.search_space(cell).default(), inherit_weights=True)
    torch.testing.assert_close(cell(*inputs), fixed(*inputs))
    # Standalone: every op is "lin" applied to input 0.
    lin = [[cell.ops[i][j]["lin"] for j in range(2)] for i in range(3)]
    x0 = inputs[0]
    nodes = [lin[i][0](x0) + lin[i][1](x0) for i in range(3)]
    torch.testing.assert_close(cell(*inputs), torch.cat(nodes, dim=1))


def test_cell_factory_candidates_receive_indices() -> None:
    calls: list[tuple[Any, ...]] = []

    def make_lin(node: int, op: int) -> torch.nn.Module:
        calls.append((node, op))
        return torch.nn.Linear(C, C)

    cell = nn.Cell([make_lin, nn.Identity], 2, 2, label="c")
    # NNI's numbering: node indices count the cell's input first (one here).
    assert calls == [(1, 0), (1, 1), (2, 0), (2, 1)]
    assert isinstance(cell.ops[1][0]["0"], torch.nn.Linear)
    assert isinstance(cell.ops[1][0]["1"], torch.nn.Identity)
    assert cell(torch.randn(2, C)).shape == (2, 2 * C)


def test_cell_dict_of_factories_and_callable_giving_candidates() -> None:
    with_all_args: list[tuple[Any, ...]] = []

    def three(node: int, op: int, inp: Any) -> torch.nn.Module:
        with_all_args.append((node, op, inp))
        return torch.nn.Tanh()

    cell = nn.Cell({"tanh": three, "relu": lambda: torch.nn.ReLU()}, 1, 2, label="c")
    assert with_all_args == [(1, 0, None), (1, 1, None)]
    assert archsearch.search_space(cell)["c/op_0_0"].names == ("tanh", "relu")  # type: ignore[attr-defined]

    def per_slot(node: int, op: int) -> dict[str, torch.nn.Module]:
        return {f"scale{node}{op}": torch.nn.Identity(), "relu": torch.nn.ReLU()}

    cell2 = nn.Cell(per_slot, 2, 1, label="d")
    space = archsearch.search_space(cell2)
    assert space["d/op_1_0"] == LayerChoiceDim("d/op_1_0", ("scale20", "relu"))
    cell3 = nn.Cell(lambda: [torch.nn.ReLU(), torch.nn.Tanh()], 1, label="e")
    assert archsearch.search_space(cell3)["e/op_0_0"] == LayerChoiceDim("e/op_0_0", ("0", "1"))


def test_cell_candidates_are_copied_per_slot() -> None:
    lin = torch.nn.Linear(C, C)
    cell = nn.Cell([lin], 2, 2, label="c")
    slots = [cell.ops[i][j][0] for i in range(2) for j in range(2)]
    assert all(s is not lin for s in slots)
    assert len({id(s.weight) for s in slots}) == 4


def test_cell_pre_and_postprocessors() -> None:
    class Double(torch.nn.Module):
        def forward(self, xs: list[torch.Tensor]) -> list[torch.Tensor]:
            return [x * 2 for x in xs]

    class AddFirstInput(torch.nn.Module):
        def forward(self, out: torch.Tensor, inputs: Any) -> torch.Tensor:
            return out + 100

    cell = nn.Cell(
        [nn.Identity()], 2, 1, 2, preprocessor=Double(), postprocessor=AddFirstInput(), label="c"
    )
    a, b = torch.ones(1, C), torch.full((1, C), 3.0)
    arch = {"c/op_0_0": 0, "c/op_1_0": 0, "c/input_0_0": [1], "c/input_1_0": [0]}
    fixed = archsearch.fix(cell, arch)
    torch.testing.assert_close(fixed(a, b), torch.cat([b * 2, a * 2], dim=1) + 100)
    torch.testing.assert_close(cell(a, b), torch.cat([a * 2, a * 2], dim=1) + 100)


def test_cell_concat_dim() -> None:
    cell = nn.Cell([nn.Identity()], 2, concat_dim=0)
    assert cell(torch.ones(3, C)).shape == (6, C)


@pytest.mark.parametrize(
    "kwargs",
    [{"merge_op": "sum"}, {"num_nodes": 0}, {"num_ops_per_node": 0}, {"num_predecessors": 0}],
)
def test_cell_invalid_arguments(kwargs: dict[str, Any]) -> None:
    args: dict[str, Any] = {"op_candidates": [nn.Identity()], "num_nodes": 2, **kwargs}
    with pytest.raises(ValueError):
        nn.Cell(**args)


def test_cell_wrong_number_of_inputs() -> None:
    cell = nn.Cell([nn.Identity()], 2, num_predecessors=2, label="c")
    with pytest.raises(ValueError, match="2 inputs"):
        cell(torch.ones(1, C))
    fixed = archsearch.fix(cell, archsearch.search_space(cell).default())
    with pytest.raises(ValueError, match="2 inputs"):
        fixed(torch.ones(1, C), torch.ones(1, C), torch.ones(1, C))
