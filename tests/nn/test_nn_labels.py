"""Labels: explicit labels and the key alias, path-derived defaults, sharing, model order."""

from __future__ import annotations

import pytest
import torch

import archsearch
import archsearch.nn as nn


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.op = nn.LayerChoice([nn.Linear(4, 4), nn.ReLU()])
        self.skip = nn.InputChoice(2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.skip([self.op(x), x])


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Linear(3, nn.ValueChoice([4, 8]))
        self.proj = nn.Linear(self.stem.out_features, 4)
        self.cells = nn.ModuleList([Block(), Block()])
        self.heads = nn.ModuleDict({"main": nn.LayerChoice([nn.Identity(), nn.Tanh()])})
        self.rep = nn.Repeat(lambda: nn.ReLU(), (1, 2))


def test_default_labels_are_attribute_paths_in_model_order() -> None:
    assert archsearch.search_space(Net()).labels == [
        "stem.out_features",
        "cells.0.op",
        "cells.0.skip",
        "cells.1.op",
        "cells.1.skip",
        "heads.main",
        "rep",
    ]


def test_default_labels_are_deterministic_across_constructions() -> None:
    first = archsearch.search_space(Net())
    # Unrelated choices built in between must not shift labels (no global counters).
    for _ in range(3):
        nn.LayerChoice([nn.ReLU()])
        nn.InputChoice(2)
        nn.ValueChoice([1, 2])
    second = archsearch.search_space(Net())
    assert first.labels == second.labels
    assert first.to_json() == second.to_json()


def test_labels_are_readable_after_walking() -> None:
    model = Net()
    with pytest.raises(AttributeError, match="no label yet"):
        _ = model.cells[0].op.label
    assert not hasattr(model.heads["main"], "label")
    with pytest.raises(AttributeError):
        _ = model.cells[1].skip.key
    archsearch.search_space(model)
    assert model.cells[0].op.label == "cells.0.op"
    assert model.cells[1].skip.label == "cells.1.skip"
    assert model.cells[1].skip.key == "cells.1.skip"
    assert model.heads["main"].key == "heads.main"
    assert model.rep.label == "rep"


def test_root_choice_is_labelled_root() -> None:
    lc = nn.LayerChoice([nn.ReLU(), nn.Tanh()])
    assert archsearch.search_space(lc).labels == ["root"]
    assert lc.label == "root"


@pytest.mark.parametrize(
    "make",
    [
        lambda **kw: nn.LayerChoice([nn.ReLU(), nn.Tanh()], **kw),
        lambda **kw: nn.InputChoice(2, 1, **kw),
        lambda **kw: nn.Repeat(nn.ReLU(), (1, 2), **kw),
    ],
    ids=["LayerChoice", "InputChoice", "Repeat"],
)
def test_explicit_label_and_key_alias(make: object) -> None:
    by_label = make(label="mine")  # type: ignore[operator]
    by_key = make(key="mine")  # type: ignore[operator]
    both = make(label="mine", key="mine")  # type: ignore[operator]
    for module in (by_label, by_key, both):
        assert module.label == "mine"
        assert module.key == "mine"
        holder = nn.Sequential(nn.Identity(), module)
        assert archsearch.search_space(holder).labels == ["mine"]
        assert module.label == "mine"  # walking does not override an explicit label
    with pytest.raises(ValueError, match="disagree"):
        make(label="a", key="b")  # type: ignore[operator]
    with pytest.raises(ValueError):
        make(label="")  # type: ignore[operator]


def test_explicit_label_shared_by_layer_choices_is_one_decision() -> None:
    model = nn.Sequential(
        nn.LayerChoice({"relu": nn.ReLU(), "tanh": nn.Tanh()}, label="act"),
        nn.Linear(2, 2),
        nn.LayerChoice({"relu": nn.ReLU(), "tanh": nn.Tanh()}, label="act"),
    )
    space = archsearch.search_space(model)
    assert space.labels == ["act"]
    fixed = archsearch.fix(model, {"act": "tanh"})
    assert type(fixed[0]) is torch.nn.Tanh
    assert type(fixed[2]) is torch.nn.Tanh


def test_explicit_label_shared_by_input_choices() -> None:
    model = nn.ModuleList([nn.InputChoice(3, 2, label="in"), nn.InputChoice(3, 2, label="in")])
    assert archsearch.search_space(model).labels == ["in"]
    fixed = archsearch.fix(model, {"in": [0, 2]})
    assert fixed[0].chosen == fixed[1].chosen == [0, 2]


def test_shared_label_with_different_candidates_raises() -> None:
    model = nn.Sequential(
        nn.LayerChoice([nn.ReLU(), nn.Tanh()], label="act"),
        nn.LayerChoice([nn.ReLU(), nn.Tanh(), nn.Identity()], label="act"),
    )
    with pytest.raises(ValueError, match="'act'"):
        archsearch.search_space(model)
    inputs = nn.ModuleList([nn.InputChoice(3, 1, label="in"), nn.InputChoice(3, 2, label="in")])
    with pytest.raises(ValueError, match="'in'"):
        archsearch.search_space(inputs)


def test_shared_module_instance_is_one_choice() -> None:
    lc = nn.LayerChoice([nn.Linear(2, 2), nn.ReLU()])
    model = nn.ModuleDict({"a": lc, "b": lc})
    assert archsearch.search_space(model).labels == ["a"]
    fixed = archsearch.fix(model, {"a": 0})
    assert fixed["a"] is fixed["b"]
    assert type(fixed["a"]) is torch.nn.Linear


def test_mutable_scope_label_and_key() -> None:
    class Scope(nn.MutableScope):
        def __init__(self) -> None:
            super().__init__("scope")
            self.op = nn.LayerChoice([nn.ReLU(), nn.Tanh()])

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.op(x)

    scope = Scope()
    assert scope.label == scope.key == "scope"
    model = nn.Sequential(scope)
    # Choices inside a scope keep their own path labels.
    assert archsearch.search_space(model).labels == ["0.op"]
    x = torch.tensor([-1.0, 1.0])
    torch.testing.assert_close(model(x), torch.relu(x))
