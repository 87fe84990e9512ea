"""Custom mutators written as NNI's v1 documents show (seeds 000 and 002) over v1 mutables:
bool and float masks from `sample_search`, `mutable.length` / `n_chosen is None`, a BaseMutator
overriding the forward hooks, and a v1 LayerChoice's own reduction of several candidates."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest
import torch

from archsearch.mutator import BaseMutator, Mutator
from archsearch.nn.v1 import InputChoice, LayerChoice

X = torch.arange(6.0).reshape(2, 3)


class Scale(torch.nn.Module):
    def __init__(self, factor: float) -> None:
        super().__init__()
        self.factor = factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.factor


class Net(torch.nn.Module):
    def __init__(self, reduction: str = "sum") -> None:
        super().__init__()
        self.op = LayerChoice([Scale(1), Scale(2), Scale(3)], reduction=reduction, key="op")
        self.skip = InputChoice(n_candidates=3, return_mask=True, key="skip")

    def forward(self, x: torch.Tensor) -> Any:
        y = self.op(x)
        return self.skip([x, y, -x])


class SeedRandomMutator(Mutator):
    """The random mutator of the customizing document, as written there."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__(model)

    def sample_search(self) -> dict[str, torch.Tensor]:
        result = dict()
        for mutable in self.mutables:
            if isinstance(mutable, LayerChoice):
                gen_index = np.random.randint(mutable.length)
                result[mutable.key] = torch.tensor(
                    [i == gen_index for i in range(mutable.length)], dtype=torch.bool
                )
            elif isinstance(mutable, InputChoice):  # noqa: SIM102  (as the document has it)
                if mutable.n_chosen is None:
                    result[mutable.key] = (
                        torch.randint(high=2, size=(mutable.n_candidates,)).view(-1).bool()
                    )
        return result

    def sample_final(self) -> dict[str, torch.Tensor]:
        return self.sample_search()


def test_the_documented_random_mutator_drives_any_subset_choices() -> None:
    np.random.seed(0)
    torch.manual_seed(0)
    model = Net()
    mutator = SeedRandomMutator(model)
    seen = set()
    for _ in range(40):
        mutator.reset()
        out, mask = model(X)
        op = int(mutator.decision_for("op").int().argmax()) + 1
        inputs = [X, op * X, -X]
        chosen = [t for t, keep in zip(inputs, mask.tolist(), strict=True) if keep]
        assert mask.dtype == torch.bool and torch.equal(mask, mutator.decision_for("skip"))
        if chosen:
            torch.testing.assert_close(out, sum(chosen))
        else:
            assert out is None
        seen.add(tuple(mask.tolist()))
        arch = mutator.export()
        assert set(arch) == {"op", "skip"} and all(0 <= i < 3 for i in arch["skip"])
    assert len(seen) == 8


class FixedMasks(Mutator):
    def __init__(self, model: torch.nn.Module, masks: Mapping[str, Any]) -> None:
        super().__init__(model)
        self.masks = dict(masks)

    def sample_search(self) -> Mapping[str, Any]:
        return self.masks

    def sample_final(self) -> Mapping[str, Any]:
        return self.masks


def test_float_masks_weight_the_inputs_and_come_back_with_the_output() -> None:
    model = Net()
    mutator = FixedMasks(model, {"op": [0.0, 1.0, 0.0], "skip": [0.5, 0.0, 0.25]})
    mutator.reset()
    out, mask = model(X)
    torch.testing.assert_close(out, 0.5 * X + 0.25 * -X)
    assert mask.tolist() == [0.5, 0.0, 0.25]
    assert mutator.export() == {"op": "1", "skip": [0, 2]}


@pytest.mark.parametrize(
    ("reduction", "expected"),
    [
        ("sum", 4 * X),
        ("mean", 2 * X),
        ("concat", torch.cat([X, 3 * X], dim=1)),
        ("none", [X, 3 * X]),
    ],
)
def test_a_v1_layer_choice_reduces_several_candidates_its_own_way(
    reduction: str, expected: Any
) -> None:
    model = Net(reduction)
    FixedMasks(model, {"op": [True, False, True], "skip": [False, True, False]}).reset()
    out, _ = model(X)
    if isinstance(expected, list):
        assert len(out) == len(expected)
        for got, want in zip(out, expected, strict=True):
            torch.testing.assert_close(got, want)
    else:
        torch.testing.assert_close(out, expected)


class CallLog(BaseMutator):
    """A BaseMutator that implements the two forward hooks itself (document 000)."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__(model)
        self.calls: list[str] = []

    def on_forward_layer_choice(
        self, mutable: LayerChoice, *args: Any, **kwargs: Any
    ) -> tuple[Any, torch.Tensor]:
        self.calls.append(mutable.key)
        outputs = [op(*args) for op in mutable.choices]
        return sum(outputs) / mutable.length, torch.full((mutable.length,), 1 / mutable.length)

    def on_forward_input_choice(
        self, mutable: InputChoice, tensor_list: list[torch.Tensor]
    ) -> tuple[Any, torch.Tensor]:
        self.calls.append(mutable.key)
        return tensor_list[-1], torch.tensor([False] * (mutable.n_candidates - 1) + [True])


def test_a_base_mutator_with_its_own_forward_hooks() -> None:
    model = Net()
    mutator = CallLog(model)
    assert [m.key for m in mutator.mutables] == ["op", "skip"]
    out, mask = model(X)
    torch.testing.assert_close(out, -X)
    assert mask.tolist() == [False, False, True] and mutator.calls == ["op", "skip"]
