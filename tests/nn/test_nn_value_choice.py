"""ValueChoice as layer arguments: labels, sharing, arithmetic, fixing, @basic_unit."""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import pytest
import torch

import archsearch
import archsearch.nn as nn
from archsearch.nn.value_choice import ChoiceExpression
from archsearch.space import InvalidArchitectureError, ValueChoiceDim


class ConvNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(16, nn.ValueChoice([16, 32]), kernel_size=nn.ValueChoice([3, 5]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


def test_conv_with_value_choices_is_built_with_first_candidates() -> None:
    model = ConvNet()
    assert isinstance(model.conv, torch.nn.Conv2d)
    assert model.conv.weight.shape == (16, 16, 3, 3)
    assert model(torch.randn(1, 16, 8, 8)).shape == (1, 16, 6, 6)


def test_labels_come_from_argument_names() -> None:
    space = archsearch.search_space(ConvNet())
    assert space.labels == ["conv.out_channels", "conv.kernel_size"]
    assert space["conv.out_channels"] == ValueChoiceDim("conv.out_channels", (16, 32))
    assert space["conv.kernel_size"] == ValueChoiceDim("conv.kernel_size", (3, 5))
    assert space.size() == 4


@pytest.mark.parametrize(("width", "kernel"), [(16, 3), (16, 5), (32, 3), (32, 5)])
def test_fix_rebuilds_plain_conv_with_chosen_values(width: int, kernel: int) -> None:
    fixed = archsearch.fix(ConvNet(), {"conv.out_channels": width, "conv.kernel_size": kernel})
    assert type(fixed.conv) is torch.nn.Conv2d
    assert fixed.conv.out_channels == width
    assert fixed.conv.kernel_size == (kernel, kernel)
    assert fixed.conv.weight.shape == (width, 16, kernel, kernel)
    assert fixed(torch.randn(2, 16, 9, 9)).shape == (2, width, 10 - kernel, 10 - kernel)


def test_keyword_and_positional_arguments_get_the_same_label() -> None:
    a = nn.Linear(4, nn.ValueChoice([2, 3]))
    b = nn.Linear(4, out_features=nn.ValueChoice([2, 3]))
    c = nn.Linear(in_features=nn.ValueChoice([4, 5]), out_features=2)
    holder = nn.ModuleDict({"a": a, "b": b, "c": c})
    assert archsearch.search_space(holder).labels == [
        "a.out_features",
        "b.out_features",
        "c.in_features",
    ]


def test_deep_paths_name_the_argument() -> None:
    model = nn.Sequential(nn.Sequential(nn.Linear(3, nn.ValueChoice([4, 8]))), nn.ReLU())
    assert archsearch.search_space(model).labels == ["0.0.out_features"]


# --- sharing ------------------------------------------------------------------------------------


class SharedWidth(nn.Module):
    def __init__(self, shared_object: bool) -> None:
        super().__init__()
        if shared_object:
            w1 = w2 = nn.ValueChoice([8, 16])
        else:
            w1 = nn.ValueChoice([8, 16], label="width")
            w2 = nn.ValueChoice([8, 16], label="width")
        self.fc1 = nn.Linear(4, w1)
        self.fc2 = nn.Linear(w2, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(torch.relu(self.fc1(x)))


@pytest.mark.parametrize(("shared_object", "label"), [(True, "fc1.out_features"), (False, "width")])
def test_shared_value_choice_is_one_decision(shared_object: bool, label: str) -> None:
    model = SharedWidth(shared_object)
    space = archsearch.search_space(model)
    assert space.labels == [label]
    fixed = archsearch.fix(model, {label: 16})
    assert fixed.fc1.out_features == 16
    assert fixed.fc2.in_features == 16
    assert fixed(torch.randn(2, 4)).shape == (2, 3)


def test_same_label_with_different_candidates_raises() -> None:
    model = nn.Sequential(
        nn.Linear(4, nn.ValueChoice([8, 16], label="width")),
        nn.Linear(nn.ValueChoice([8, 32], label="width"), 3),
    )
    with pytest.raises(ValueError, match=r"'width' is shared by two different choices"):
        archsearch.search_space(model)


def test_value_choice_label_clashing_with_layer_choice_raises() -> None:
    model = nn.Sequential(
        nn.Linear(4, nn.ValueChoice([8, 16], label="x")),
        nn.LayerChoice([nn.ReLU(), nn.Tanh()], label="x"),
    )
    with pytest.raises(ValueError, match="'x'"):
        archsearch.search_space(model)


# --- arithmetic ---------------------------------------------------------------------------------


def test_arithmetic_stays_a_choice_and_resolves_after_fix() -> None:
    k = nn.ValueChoice([3, 5, 7])
    w = nn.ValueChoice([4, 8])
    model = nn.Sequential(
        nn.Conv1d(2, w * 2, kernel_size=k, padding=k // 2),
        nn.Conv1d(w * 2, w, 1),
    )
    padding = k // 2
    assert isinstance(padding, ChoiceExpression)
    assert not isinstance(padding, nn.ValueChoice)
    # Built with the first candidates: width 4 → 8 channels, kernel 3 → padding 1.
    assert model[0].weight.shape == (8, 2, 3)
    assert model[0].padding == (1,)
    space = archsearch.search_space(model)
    # Only the leaves are labelled; derived values follow them.
    assert space.labels == ["0.out_channels", "0.kernel_size"]
    x = torch.randn(1, 2, 11)
    for width in (4, 8):
        for kernel in (3, 5, 7):
            fixed = archsearch.fix(model, {"0.out_channels": width, "0.kernel_size": kernel})
            assert fixed[0].out_channels == 2 * width
            assert fixed[0].padding == (kernel // 2,)
            assert fixed[1].in_channels == 2 * width
            assert fixed[1].out_channels == width
            assert fixed(x).shape == (1, width, 11)  # "same" padding keeps the length


LEAF_A = nn.ValueChoice([7, 2])
LEAF_B = nn.ValueChoice([3, 4])

EXPRESSIONS: list[tuple[Any, Callable[[int, int], Any]]] = [
    (LEAF_A + 1, lambda a, b: a + 1),
    (1 + LEAF_A, lambda a, b: 1 + a),
    (LEAF_A - 1, lambda a, b: a - 1),
    (10 - LEAF_A, lambda a, b: 10 - a),
    (LEAF_A * LEAF_B, lambda a, b: a * b),
    (3 * LEAF_A, lambda a, b: 3 * a),
    (LEAF_A / 2, lambda a, b: a / 2),
    (1 / LEAF_A, lambda a, b: 1 / a),
    (LEAF_A // LEAF_B, lambda a, b: a // b),
    (20 // LEAF_A, lambda a, b: 20 // a),
    (LEAF_A % LEAF_B, lambda a, b: a % b),
    (LEAF_B**2, lambda a, b: b**2),
    (-LEAF_A, lambda a, b: -a),
    ((LEAF_A + LEAF_B) * 2 - LEAF_A // 2, lambda a, b: (a + b) * 2 - a // 2),
]


@pytest.mark.parametrize(("expr", "reference"), EXPRESSIONS)
def test_expression_evaluates_like_python(
    expr: ChoiceExpression, reference: Callable[[int, int], Any]
) -> None:
    for a in LEAF_A.candidates:
        for b in LEAF_B.candidates:
            values = {id(LEAF_A): a, id(LEAF_B): b}
            assert expr.evaluate(lambda leaf, v=values: v[id(leaf)]) == reference(a, b)
    assert expr.default() == reference(7, 3)
    assert set(map(id, expr.inner_choices())) <= {id(LEAF_A), id(LEAF_B)}


def test_expression_leaves() -> None:
    expr = LEAF_A * LEAF_B + LEAF_A
    assert [id(leaf) for leaf in expr.inner_choices()] == [id(LEAF_A), id(LEAF_B), id(LEAF_A)]
    assert [id(x) for x in operator.neg(LEAF_B).inner_choices()] == [id(LEAF_B)]


# --- other value types --------------------------------------------------------------------------


def test_tuple_candidates_round_trip_through_json_spelling() -> None:
    model = nn.Sequential(nn.Conv2d(1, 2, kernel_size=nn.ValueChoice([(3, 3), (5, 3)])))
    space = archsearch.search_space(model)
    assert space.to_json() == {"0.kernel_size": {"_type": "choice", "_value": [[3, 3], [5, 3]]}}
    for spelling in ([5, 3], (5, 3)):
        fixed = archsearch.fix(model, {"0.kernel_size": spelling})
        assert fixed[0].kernel_size == (5, 3)
        assert fixed(torch.randn(1, 1, 7, 7)).shape == (1, 2, 3, 5)


def test_choice_inside_a_tuple_argument() -> None:
    k = nn.ValueChoice([1, 3])
    model = nn.Sequential(nn.Conv2d(1, 1, kernel_size=(k, 1)))
    space = archsearch.search_space(model)
    assert space.labels == ["0.kernel_size.0"]
    assert archsearch.fix(model, {"0.kernel_size.0": 3})[0].kernel_size == (3, 1)


def test_bool_and_float_choices() -> None:
    model = nn.Sequential(
        nn.Linear(4, 4, bias=nn.ValueChoice([True, False])),
        nn.Dropout(nn.ValueChoice([0.0, 0.5])),
    )
    assert model[0].bias is not None
    assert model[1].p == 0.0
    fixed = archsearch.fix(model, {"0.bias": False, "1.p": 0.5})
    assert fixed[0].bias is None
    assert fixed[1].p == 0.5
    # True is not 1: a boolean choice does not accept numbers.
    with pytest.raises(InvalidArchitectureError, match=r"'0\.bias'"):
        archsearch.fix(model, {"0.bias": 0, "1.p": 0.5})


def test_non_json_candidate_is_rejected_when_walked() -> None:
    model = nn.Sequential(nn.Dropout(nn.ValueChoice([0.5, float("nan")])))
    with pytest.raises(TypeError, match=r"'0\.p'"):
        archsearch.search_space(model)


# --- label properties and errors ----------------------------------------------------------------


def test_unwalked_value_choice_has_no_label() -> None:
    choice = nn.ValueChoice([1, 2])
    with pytest.raises(AttributeError, match="no label yet"):
        _ = choice.label
    model = nn.Sequential(nn.Linear(3, choice))
    archsearch.search_space(model)
    assert choice.label == "0.out_features"
    assert choice.key == "0.out_features"


def test_explicit_label_and_key_alias() -> None:
    assert nn.ValueChoice([1], label="a").label == "a"
    assert nn.ValueChoice([1], key="b").label == "b"
    assert nn.ValueChoice([1], key="b").key == "b"
    assert nn.ValueChoice([1], label="c", key="c").label == "c"
    with pytest.raises(ValueError, match="disagree"):
        nn.ValueChoice([1], label="a", key="b")
    with pytest.raises(ValueError):
        nn.ValueChoice([1], label="")


def test_empty_candidates_raise() -> None:
    with pytest.raises(ValueError, match="at least one candidate"):
        nn.ValueChoice([])


def test_invalid_value_raises_naming_label() -> None:
    with pytest.raises(InvalidArchitectureError, match=r"'conv\.kernel_size'.*\[3, 5\]"):
        archsearch.fix(ConvNet(), {"conv.out_channels": 16, "conv.kernel_size": 4})


# --- @basic_unit --------------------------------------------------------------------------------


@nn.basic_unit
class Block(nn.Module):
    """A user module that takes a plain int; used with a ValueChoice."""

    def __init__(self, in_features: int, width: int, scale: float = 1.0) -> None:
        super().__init__()
        self.width = width
        self.scale = scale
        self.fc = torch.nn.Linear(in_features, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.fc(x)) * self.scale


class UsesBlock(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.block = Block(3, nn.ValueChoice([4, 6]), scale=nn.ValueChoice([1.0, 2.0], label="s"))
        self.plain = Block(3, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.block(x), self.plain(x)], dim=1)


def test_basic_unit_keeps_its_name_and_is_built_with_first_candidates() -> None:
    assert Block.__name__ == "Block"
    assert Block.__qualname__ == "Block"
    assert Block.__module__ == __name__
    model = UsesBlock()
    assert isinstance(model.block, Block)
    assert model.block.width == 4
    assert model.block.scale == 1.0
    assert model(torch.randn(2, 3)).shape == (2, 9)
    space = archsearch.search_space(model)
    assert space.labels == ["block.width", "s"]


def test_basic_unit_fixed_is_rebuilt_with_chosen_values() -> None:
    model = UsesBlock()
    fixed = archsearch.fix(model, {"block.width": 6, "s": 2.0}, inherit_weights=True)
    assert type(fixed.block).__name__ == "Block"
    assert isinstance(fixed.block, Block)
    assert fixed.block.width == 6
    assert fixed.block.scale == 2.0
    assert fixed.block.fc.weight.shape == (6, 3)
    # The rebuilt unit inherits the overlapping rows of the supernet's layer.
    torch.testing.assert_close(fixed.block.fc.weight[:4], model.block.fc.weight)
    x = torch.randn(5, 3)
    expected_block = torch.relu(x @ fixed.block.fc.weight.T + fixed.block.fc.bias) * 2.0
    torch.testing.assert_close(fixed(x)[:, :6], expected_block)
    torch.testing.assert_close(fixed(x)[:, 6:], model.plain(x))
    # The unit without choices is carried over untouched.
    assert fixed.plain.width == 5
