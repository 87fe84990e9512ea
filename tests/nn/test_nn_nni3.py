"""NNI 3.0's spellings that map one to one: `archsearch.choice(label, values)` (`nni.choice`),
the `ModelSpace` base class (in place of `@model_wrapper`) and `freeze(sample)` (= `fix`)."""

from __future__ import annotations

import pytest
import torch

import archsearch
import archsearch.nn as nn
from archsearch.space import InvalidArchitectureError, ValueChoiceDim


class Space(nn.ModelSpace):
    def __init__(self, classes: int) -> None:
        super().__init__()
        hidden = archsearch.choice("hidden", [8, 16])
        self.fc = nn.Linear(4, hidden)
        self.bias = nn.Parameter(
            torch.zeros(nn.ModelParameterChoice([1, hidden.candidates[1]], label="b"))
        )
        self.op = nn.LayerChoice([nn.ReLU(), nn.Tanh()], label="act")
        self.out = nn.Linear(hidden, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.out(self.op(self.fc(x)))
        return out + self.bias.sum()


def test_choice_is_a_labelled_value_choice() -> None:
    hidden = archsearch.choice("hidden", [8, 16])
    assert isinstance(hidden, nn.ValueChoice) and hidden.label == "hidden"
    assert hidden.candidates == (8, 16)
    assert (hidden * 2).freeze({"hidden": 16}) == 32
    assert archsearch.choice("pair", [(1, 2), (3, 4)]).freeze({"pair": [3, 4]}) == (3, 4)
    with pytest.raises(ValueError, match="not one of the candidates"):
        hidden.freeze({"hidden": 9})
    with pytest.raises(KeyError, match="no value for label 'hidden'"):
        hidden.freeze({})


def test_model_space_freeze_is_fix() -> None:
    space = Space(3)
    assert archsearch.search_space(space) == archsearch.SearchSpace(
        [
            ValueChoiceDim("b", (1, 16)),
            ValueChoiceDim("hidden", (8, 16)),
            archsearch.search_space(space)["act"],
        ]
    )
    frozen = space.freeze({"hidden": 16, "act": "1", "b": 16})
    assert isinstance(frozen, Space) and type(frozen.fc) is torch.nn.Linear
    assert frozen.fc.out_features == 16 and frozen.bias.shape == (16,)
    assert isinstance(frozen.op, torch.nn.Tanh)
    assert frozen(torch.zeros(2, 4)).shape == (2, 3)
    with pytest.raises(InvalidArchitectureError, match="'hidden'"):
        space.freeze({"hidden": 12, "act": "1", "b": 1})
