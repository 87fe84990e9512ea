"""NNI v1's mutables (`archsearch.nn.v1`, mapped from `nni.nas.pytorch.mutables`): v1's call
shapes and defaults, any-subset input choices as a real dimension, masks returned by forward,
fixing, and classic mode."""

from __future__ import annotations

import json
from collections import OrderedDict
from pathlib import Path
from typing import Any

import pytest
import torch

import archsearch
from archsearch.classic import PARAMETERS_ENV, get_and_apply_next_architecture
from archsearch.classic import trial as trial_module
from archsearch.mutator import ReplayMutator
from archsearch.nn import FixedInputChoice, FixedLayerChoice, Mutable
from archsearch.nn.v1 import InputChoice, LayerChoice, MutableScope
from archsearch.space import InputChoiceDim, InvalidArchitectureError

A, B, C = (torch.full((2, 3), float(v)) for v in (1, 10, 100))


class Block(MutableScope):
    def __init__(self) -> None:
        super().__init__("block")
        self.op = LayerChoice([torch.nn.Linear(3, 3), torch.nn.Tanh()], key="op")

    def forward(self, x: torch.Tensor) -> Any:
        return self.op(x)


class V1Net(torch.nn.Module):
    """A plain torch.nn model with v1 mutables: any-subset skip returning its mask."""

    def __init__(self) -> None:
        super().__init__()
        self.block = Block()
        self.skip = InputChoice(n_candidates=3, return_mask=True, key="skip")

    def forward(self, x: torch.Tensor) -> tuple[Any, torch.Tensor]:
        y = self.block(x)
        out, mask = self.skip([x, y, 2 * x])
        return (torch.zeros_like(x) if out is None else out), mask


def test_v1_defaults_and_attributes() -> None:
    choice = InputChoice(3)
    assert choice.n_chosen is None and choice.reduction == "sum" and not choice.return_mask
    assert choice.choose_from == [InputChoice.NO_KEY] * 3 == ["", "", ""]
    assert choice.names == ["0", "1", "2"]
    keyed = InputChoice(choose_from=["cell1", InputChoice.NO_KEY, "op"], n_chosen=1, key="in")
    assert keyed.n_candidates == 3 and keyed.names == ["cell1", "1", "op"] and keyed.key == "in"
    assert keyed.choose_from == ["cell1", "", "op"]
    ops = OrderedDict([("conv", torch.nn.Linear(3, 3)), ("tanh", torch.nn.Tanh())])
    layer = LayerChoice(ops, key="layer")
    assert layer.length == 2 and layer.choices == list(ops.values()) and layer.key == "layer"
    assert layer.reduction == "sum" and not layer.return_mask
    assert isinstance(layer, archsearch.nn.LayerChoice) and isinstance(layer, Mutable)
    assert MutableScope(key="cell").key == MutableScope("cell").label == "cell"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: InputChoice(), "n_candidates or choose_from"),
        (lambda: InputChoice(choose_from=["a", "a"]), "distinct"),
        (lambda: InputChoice(2, ["a", "b", "c"]), "disagrees"),
        (lambda: InputChoice(2, n_chosen=3), "between 1 and n_candidates=2"),
        (lambda: LayerChoice([torch.nn.Tanh()], reduction="max"), "reduction must be one of"),
        (lambda: MutableScope(), "needs a label"),
        (lambda: MutableScope("a", key="b"), "disagree"),
    ],
)
def test_bad_v1_arguments_are_refused(make: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()


def test_any_subset_is_a_search_space_dimension() -> None:
    space = archsearch.search_space(V1Net())
    assert space["skip"] == InputChoiceDim("skip", 3, None, ("0", "1", "2"), default_all=True)
    assert space.size() == 2 * 8
    grid = list(space.grid())
    assert len(grid) == 16 and {"op": "1", "skip": []} in grid
    assert space.default() == {"op": "0", "skip": [0, 1, 2]}  # v1 standalone: every input
    sampled = {json.dumps(space.sample(seed)["skip"]) for seed in range(64)}
    assert len(sampled) == 8
    assert space.validate({"op": 1, "skip": [True, False, True]}) == {"op": "1", "skip": [0, 2]}
    assert space.validate({"op": 0, "skip": []})["skip"] == []
    with pytest.raises(InvalidArchitectureError, match=r"'skip'.*is not one of the inputs"):
        space.validate({"op": 0, "skip": [3]})


def test_standalone_runs_every_input_and_returns_the_mask() -> None:
    model = V1Net()
    out, mask = model(A)
    torch.testing.assert_close(out, A + model.block.op[0](A) + 2 * A)
    assert mask.tolist() == [True, True, True]


def test_the_fixed_model_returns_output_and_mask_as_the_search_did() -> None:
    model = V1Net()
    arch = {"op": "1", "skip": [1, 2]}
    replay = ReplayMutator(model, arch)
    searched, searched_mask = model(A)
    replay.unbind()
    fixed = archsearch.fix(model, arch, inherit_weights=True)
    assert isinstance(fixed.skip, FixedInputChoice) and fixed.block.op.__class__ is torch.nn.Tanh
    out, mask = fixed(A)
    torch.testing.assert_close(out, torch.tanh(A) + 2 * A)
    torch.testing.assert_close(out, searched)
    assert mask.tolist() == searched_mask.tolist() == [False, True, True]
    empty = archsearch.fix(model, {"op": "0", "skip": []})
    torch.testing.assert_close(empty(A)[0], torch.zeros_like(A))


class MaskedLayer(torch.nn.Module):
    def __init__(self, reduction: str = "sum") -> None:
        super().__init__()
        self.op = LayerChoice(
            {"lin": torch.nn.Linear(3, 3), "tanh": torch.nn.Tanh()},
            reduction=reduction,
            return_mask=True,
            key="op",
        )

    def forward(self, x: torch.Tensor) -> Any:
        return self.op(x)


def test_a_fixed_masked_layer_choice_keeps_the_mask_and_the_state_dict_keys() -> None:
    model = MaskedLayer()
    out, mask = model(A)
    torch.testing.assert_close(out, model.op["lin"](A))
    assert mask.tolist() == [True, False]
    fixed = archsearch.fix(model, {"op": "lin"}, inherit_weights=True)
    assert isinstance(fixed.op, FixedLayerChoice)
    assert set(fixed.state_dict()) == {"op.lin.weight", "op.lin.bias"} == set(model.state_dict())
    fixed_out, fixed_mask = fixed(A)
    torch.testing.assert_close(fixed_out, out)
    assert fixed_mask.tolist() == [True, False]
    listed = archsearch.fix(MaskedLayer("none"), {"op": "tanh"})
    (only,), listed_mask = listed(A)
    torch.testing.assert_close(only, torch.tanh(A))
    assert listed_mask.tolist() == [False, True]


@pytest.fixture
def fresh_trial_state(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(trial_module, "_current", None)
    monkeypatch.delenv(PARAMETERS_ENV, raising=False)


@pytest.mark.usefixtures("fresh_trial_state")
def test_classic_mode_standalone_and_in_a_trial(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    standalone = get_and_apply_next_architecture(V1Net())
    assert standalone.skip.chosen == [0, 1, 2]  # v1: the first ones, i.e. all for n_chosen=None
    params = {"op": {"_value": "1", "_idx": 1}, "skip": {"_value": [], "_idx": []}}
    path = tmp_path / "parameters.json"
    path.write_text(json.dumps(params))
    monkeypatch.setenv(PARAMETERS_ENV, str(path))
    monkeypatch.setattr(trial_module, "_current", None)
    model = get_and_apply_next_architecture(V1Net())
    assert model.skip.chosen == []
    out, mask = model(A)
    torch.testing.assert_close(out, torch.zeros_like(A))
    assert mask.tolist() == [False, False, False]
