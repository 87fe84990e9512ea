"""Cell as NNI defines it: op factories get the chosen input index, the postprocessor gets the
list of inputs, a fixed cell tells its `output_node_indices` (issue 13)."""

from __future__ import annotations

from typing import Any

import pytest
import torch

import archsearch
import archsearch.nn as nn

C = 4


def reduction_factory(calls: list[tuple[Any, ...]]) -> Any:
    """NNI's reduction-cell pattern: ops reading a cell input halve the length, others keep it."""

    def make(node_index: int, op_index: int, input_index: int | None) -> torch.nn.Module:
        calls.append((node_index, op_index, input_index))
        stride = 2 if input_index is None or input_index < 2 else 1
        return torch.nn.Conv1d(C, C, 3, stride=stride, padding=1)

    return make


REDUCTION_ARCH = {
    "r/op_0_0": "0", "r/input_0_0": [1],  # node state 2 reads input 1: stride 2
    "r/op_1_0": "0", "r/input_1_0": [2],  # node state 3 reads node 2: stride 1
}  # fmt: skip


def test_factory_is_called_again_with_the_chosen_input_index() -> None:
    calls: list[tuple[Any, ...]] = []
    cell = nn.Cell([reduction_factory(calls)], 2, 1, 2, label="r")
    assert calls == [(2, 0, None), (3, 0, None)]  # NNI's numbering, input unknown while searching
    calls.clear()
    fixed = archsearch.fix(cell, REDUCTION_ARCH)
    assert calls == [(2, 0, 1), (3, 0, 2)]
    assert [fixed.ops[0][0].stride, fixed.ops[1][0].stride] == [(2,), (1,)]
    x = torch.randn(3, C, 16)
    # Before the fix, node 3's op was the stride-2 one built with None: length 4, and the
    # concatenation of an 8-long and a 4-long node failed.
    assert fixed(x, x).shape == (3, 2 * C, 8)


def test_rebuilt_op_inherits_the_searched_weights() -> None:
    cell = nn.Cell([reduction_factory([])], 2, 1, 2, label="r")
    fixed = archsearch.fix(cell, REDUCTION_ARCH, inherit_weights=True)
    torch.testing.assert_close(fixed.ops[1][0].weight, cell.ops[1][0]["0"].weight)
    assert fixed.ops[1][0] is not cell.ops[1][0]["0"]


def test_dict_and_slot_factories_get_the_input_index_too() -> None:
    seen: list[Any] = []

    def slot(node_index: int, op_index: int, input_index: int | None) -> dict[str, Any]:
        seen.append(input_index)
        return {"id": torch.nn.Identity(), "lin": torch.nn.Linear(C, C)}

    cell = nn.Cell(slot, 1, 1, 1, label="s")
    fixed = archsearch.fix(cell, {"s/op_0_0": "lin", "s/input_0_0": [0]})
    assert seen == [None, 0]
    assert isinstance(fixed.ops[0][0], torch.nn.Linear)
    keyed = nn.Cell({"tanh": lambda n, o, i: torch.nn.Tanh(), "relu": nn.ReLU()}, 1, label="k")
    fixed = archsearch.fix(keyed, {"k/op_0_0": "tanh", "k/input_0_0": [0]})
    assert isinstance(fixed.ops[0][0], torch.nn.Tanh)


def test_factory_without_the_input_index_keeps_the_searched_op() -> None:
    cell = nn.Cell([lambda node, op: torch.nn.Linear(C, C)], 1, label="c")
    fixed = archsearch.fix(cell, {"c/op_0_0": "0", "c/input_0_0": [0]}, inherit_weights=True)
    torch.testing.assert_close(fixed.ops[0][0].weight, cell.ops[0][0]["0"].weight)


def test_a_rebuilt_op_with_unlabelled_choices_is_refused_by_name() -> None:
    cell = nn.Cell([lambda n, o, i: nn.LayerChoice([nn.ReLU(), nn.Tanh()])], 1, label="c")
    arch = {**archsearch.search_space(cell).default(), "c/input_0_0": [0]}
    with pytest.raises(ValueError, match=r"c/op_0_0: .*explicit label"):
        archsearch.fix(cell, arch)
    labelled = nn.Cell(
        [lambda n, o, i: nn.LayerChoice([nn.ReLU(), nn.Tanh()], label="act")], 1, label="c"
    )
    fixed = archsearch.fix(labelled, {"act": 1, "c/op_0_0": "0", "c/input_0_0": [0]})
    assert isinstance(fixed.ops[0][0], torch.nn.Tanh)


class Pair(torch.nn.Module):
    """NNI's DARTS postprocessor: the previous input and this cell's output, to chain cells."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[Any] = []

    def forward(self, out: torch.Tensor, inputs: Any) -> tuple[torch.Tensor, torch.Tensor]:
        self.seen.append(inputs)
        return inputs[-1], out


class Double(torch.nn.Module):
    def forward(self, xs: list[torch.Tensor]) -> list[torch.Tensor]:
        return [x * 2 for x in xs]


ARCH = {"c/op_0_0": 0, "c/input_0_0": [1]}


@pytest.mark.parametrize("fixed", [False, True])
@pytest.mark.parametrize("as_list", [False, True])
def test_postprocessor_gets_the_list_of_inputs(fixed: bool, as_list: bool) -> None:
    cell: Any = nn.Cell(
        [nn.Identity()], 1, 1, 2, preprocessor=Double(), postprocessor=Pair(), label="c"
    )
    if fixed:
        cell = archsearch.fix(cell, ARCH)
    x, y = torch.ones(1, C), torch.full((1, C), 3.0)
    prev, out = cell([x, y]) if as_list else cell(x, y)
    (inputs,) = cell.postprocessor.seen
    assert isinstance(inputs, list) and len(inputs) == 2
    assert inputs[0] is x and inputs[1] is y  # as given, before the preprocessor
    assert prev is y
    torch.testing.assert_close(out, (y * 2) if fixed else (x * 2))  # standalone: first input


def test_output_node_indices() -> None:
    cell = nn.Cell([nn.Identity()], 3, 1, 2, merge_op="loose_end", label="c")
    assert cell.output_node_indices == [2, 3, 4]
    arch = {
        "c/op_0_0": 0, "c/op_1_0": 0, "c/op_2_0": 0,
        "c/input_0_0": [0], "c/input_1_0": [2], "c/input_2_0": [1],
    }  # fmt: skip
    fixed = archsearch.fix(cell, arch)
    assert fixed.output_node_indices == [3, 4]  # node state 2 feeds state 3
    assert fixed(torch.ones(1, C), torch.ones(1, C)).shape == (1, C * len([3, 4]))
    every = archsearch.fix(nn.Cell([nn.Identity()], 3, 1, 2, label="c"), arch)
    assert every.output_node_indices == [2, 3, 4]


def test_processors_may_be_plain_callables() -> None:
    def first_input_too(out: torch.Tensor, inputs: list[torch.Tensor]) -> torch.Tensor:
        return out + inputs[0]

    cell = nn.Cell([nn.Identity()], 1, postprocessor=first_input_too, label="c")
    fixed = archsearch.fix(cell, {"c/op_0_0": 0, "c/input_0_0": [0]})
    x = torch.ones(1, C)
    torch.testing.assert_close(fixed(x), x * 2)
    torch.testing.assert_close(cell(x), x * 2)
