"""InputChoice: reductions, n_chosen, dict inputs, validation — standalone and fixed."""

from __future__ import annotations

from typing import Any

import pytest
import torch

import archsearch
import archsearch.nn as nn
from archsearch.space import InputChoiceDim, InvalidArchitectureError

A = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
B = torch.tensor([[10.0, 20.0], [30.0, 40.0]])
C = torch.tensor([[-1.0, 0.5], [0.0, 7.0]])


class Holder(nn.Module):
    """Wraps one InputChoice so that it can be fixed like a model attribute."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__()
        self.choice = nn.InputChoice(**kwargs)

    def forward(self, inputs: Any) -> Any:
        return self.choice(inputs)


def same(actual: Any, expected: Any) -> None:
    if isinstance(expected, list):
        assert isinstance(actual, list)
        assert len(actual) == len(expected)
        for a, e in zip(actual, expected, strict=True):
            torch.testing.assert_close(a, e)
    elif expected is None:
        assert actual is None
    else:
        torch.testing.assert_close(actual, expected)


# Standalone: the first n_chosen inputs (the first alone for n_chosen=None), hand-reduced.
STANDALONE = [
    (1, "sum", A),
    (1, "mean", A),
    (1, "concat", A),
    (1, "none", [A]),
    (2, "sum", torch.tensor([[11.0, 22.0], [33.0, 44.0]])),
    (2, "mean", torch.tensor([[5.5, 11.0], [16.5, 22.0]])),
    (2, "concat", torch.tensor([[1.0, 2.0, 10.0, 20.0], [3.0, 4.0, 30.0, 40.0]])),
    (2, "none", [A, B]),
    (None, "sum", A),
    (None, "mean", A),
    (None, "concat", A),
    (None, "none", [A]),
]


@pytest.mark.parametrize(("n_chosen", "reduction", "expected"), STANDALONE)
def test_standalone_reductions(n_chosen: int | None, reduction: str, expected: Any) -> None:
    choice = nn.InputChoice(3, n_chosen, reduction)
    same(choice([A, B, C]), expected)


def test_standalone_three_of_three() -> None:
    choice = nn.InputChoice(3, 3, "mean")
    same(choice([A, B, C]), (A + B + C) / 3)
    same(nn.InputChoice(3, 3, "concat")((A, B, C)), torch.cat([A, B, C], dim=1))


# Fixed: any choice of inputs, reduced the same way.
FIXED = [
    (1, [2], "sum", C),
    (1, [1], "none", [B]),
    (2, [0, 2], "sum", A + C),
    (2, [2, 0], "mean", (A + C) / 2),
    (2, [1, 2], "concat", torch.cat([B, C], dim=1)),
    (2, [0, 2], "none", [A, C]),
    (None, [], "sum", None),
    (None, [], "none", []),
    (None, [1], "mean", B),
    (None, [0, 1, 2], "sum", A + B + C),
    (None, [0, 1, 2], "mean", (A + B + C) / 3),
    (None, [0, 2], "concat", torch.cat([A, C], dim=1)),
]


@pytest.mark.parametrize(("n_chosen", "chosen", "reduction", "expected"), FIXED)
def test_fixed_reductions(
    n_chosen: int | None, chosen: list[int], reduction: str, expected: Any
) -> None:
    model = Holder(n_candidates=3, n_chosen=n_chosen, reduction=reduction)
    fixed = archsearch.fix(model, {"choice": chosen})
    assert isinstance(fixed.choice, nn.FixedInputChoice)
    assert list(fixed.choice.parameters()) == []
    same(fixed([A, B, C]), expected)


def test_fixed_default_equals_standalone_for_every_setting() -> None:
    for n_chosen, reduction, _ in STANDALONE:
        model = Holder(n_candidates=3, n_chosen=n_chosen, reduction=reduction)
        fixed = archsearch.fix(model, archsearch.search_space(model).default())
        same(fixed([A, B, C]), model([A, B, C]))


# --- dict inputs --------------------------------------------------------------------------------


def test_dict_inputs_follow_choose_from_order() -> None:
    choice = nn.InputChoice(choose_from=["x", "y", "z"], n_chosen=1)
    assert choice.n_candidates == 3
    assert choice.names == ["x", "y", "z"]
    # Dict order is irrelevant: candidates are in choose_from order.
    same(choice({"z": C, "y": B, "x": A}), A)
    same(
        nn.InputChoice(choose_from=["y", "x"], n_chosen=2, reduction="concat")({"x": A, "y": B}),
        torch.cat([B, A], dim=1),
    )


def test_dict_inputs_in_fixed_model() -> None:
    model = Holder(choose_from=["x", "y", "z"], n_chosen=2, reduction="none")
    space = archsearch.search_space(model)
    assert space["choice"] == InputChoiceDim("choice", 3, 2, ("x", "y", "z"))
    fixed = archsearch.fix(model, {"choice": ["x", "z"]})
    same(fixed({"y": B, "x": A, "z": C}), [A, C])
    # A list in candidate order works too.
    same(fixed([A, B, C]), [A, C])


def test_dict_missing_name_raises_key_error() -> None:
    choice = nn.InputChoice(choose_from=["x", "y"])
    with pytest.raises(KeyError):
        choice({"x": A, "q": B})


def test_plain_input_choice_names() -> None:
    assert nn.InputChoice(4).names == ["0", "1", "2", "3"]
    dim = archsearch.search_space(Holder(n_candidates=4, n_chosen=None))["choice"]
    assert dim == InputChoiceDim("choice", 4, None, ("0", "1", "2", "3"))
    assert dim.size() == 16


# --- validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize("inputs", [[A, B], [A, B, C, A], []])
def test_wrong_number_of_inputs_raises(inputs: list[torch.Tensor]) -> None:
    choice = nn.InputChoice(3, 1, label="skip")
    with pytest.raises(ValueError, match=r"'skip' expects 3 inputs, got"):
        choice(inputs)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n_candidates": 3, "n_chosen": 0},
        {"n_candidates": 3, "n_chosen": 4},
        {"n_candidates": 3, "n_chosen": -1},
        {"n_candidates": 0},
        {"n_candidates": None},
        {"n_candidates": 2, "choose_from": ["a", "b", "c"]},
        {"choose_from": []},
        {"n_candidates": 2, "reduction": "max"},
    ],
)
def test_invalid_construction_raises(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        nn.InputChoice(**kwargs)


def test_n_chosen_bounds_accepted() -> None:
    assert nn.InputChoice(3, 3).n_chosen == 3
    assert nn.InputChoice(1, 1).n_chosen == 1
    assert nn.InputChoice(3, None).n_chosen is None
    assert nn.InputChoice(3, choose_from=["a", "b", "c"]).n_candidates == 3


def test_fix_rejects_wrong_number_of_chosen_inputs() -> None:
    model = Holder(n_candidates=3, n_chosen=2)
    with pytest.raises(InvalidArchitectureError, match="'choice'"):
        archsearch.fix(model, {"choice": [0]})
    with pytest.raises(InvalidArchitectureError, match="'choice'"):
        archsearch.fix(model, {"choice": [0, 3]})
    with pytest.raises(InvalidArchitectureError, match="'choice'"):
        archsearch.fix(model, {"choice": [1, 1]})
