"""The v1 mutator API: bindings, masks reaching each choice in forward, export, errors."""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Mapping
from typing import Any

import pytest
import torch

import archsearch
import archsearch.nn as nn
from archsearch.mutator import BaseMutator, Mutator, RandomMutator


class HandMutator(Mutator):
    """Uses hand-set masks, both during search and as the final architecture."""

    def __init__(self, model: torch.nn.Module, masks: Mapping[str, Any]) -> None:
        super().__init__(model)
        self.masks = dict(masks)

    def sample_search(self) -> Mapping[str, Any]:
        return self.masks

    def sample_final(self) -> Mapping[str, Any]:
        return self.masks


class Boom(torch.nn.Module):
    """A candidate that must never run."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise AssertionError("a candidate with weight 0 was run")


class Scale(torch.nn.Module):
    def __init__(self, factor: float) -> None:
        super().__init__()
        self.factor = factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.factor


class Net(nn.Module):
    """Two LayerChoices sharing a label, an unlabelled one, and an InputChoice."""

    def __init__(self, reduction: str = "sum") -> None:
        super().__init__()
        self.first = nn.LayerChoice([nn.Linear(3, 3), nn.Linear(3, 3), nn.Linear(3, 3)])
        self.shared_a = nn.LayerChoice({"x": nn.Linear(3, 3), "y": nn.Tanh()}, label="shared")
        self.shared_b = nn.LayerChoice({"x": nn.Linear(3, 3), "y": nn.Tanh()}, label="shared")
        self.skip = nn.InputChoice(3, 2, reduction=reduction, label="skip")

    def forward(self, x: torch.Tensor) -> Any:
        a = self.first(x)
        b = self.shared_a(a)
        c = self.shared_b(b)
        return self.skip([a, b, c])


def inputs(seed: int = 0, shape: tuple[int, ...] = (4, 3)) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


NET_MASKS = {"first": [False, True, False], "shared": [True, False], "skip": [True, False, True]}


# --- BaseMutator: mutables and search space ------------------------------------------------------


def test_mutables_are_one_per_label_in_model_order() -> None:
    model = Net()
    mutator = HandMutator(model, NET_MASKS)
    assert [m.label for m in mutator.mutables] == ["first", "shared", "skip"]
    assert mutator.mutables[0] is model.first
    # The shared label is represented once, by its first occurrence in the model.
    assert mutator.mutables[1] is model.shared_a
    assert mutator.mutables[2] is model.skip
    # A copy: changing it does not change the mutator.
    mutator.mutables.clear()
    assert len(mutator.mutables) == 3


def test_search_space_matches_the_model_space() -> None:
    model = Net()
    mutator = HandMutator(model, NET_MASKS)
    assert mutator.search_space == archsearch.search_space(model)
    assert mutator.search_space.labels == [m.label for m in mutator.mutables]


def test_every_mutable_of_a_shared_label_is_bound() -> None:
    model = Net()
    mutator = HandMutator(model, NET_MASKS)
    assert model.shared_a.mutator is mutator
    assert model.shared_b.mutator is mutator
    assert model.first.mutator is mutator


# --- LayerChoice under masks ----------------------------------------------------------------------


class ThreeWay(nn.Module):
    def __init__(self, candidates: list[torch.nn.Module]) -> None:
        super().__init__()
        self.op = nn.LayerChoice(candidates, label="op")

    def forward(self, x: torch.Tensor) -> Any:
        return self.op(x)


def three_linears() -> ThreeWay:
    torch.manual_seed(0)
    return ThreeWay([nn.Linear(3, 3), nn.Linear(3, 3), nn.Linear(3, 3)])


@pytest.mark.parametrize(
    "mask", [[True, False, False], [False, False, True], [True, False, True], [True, True, True]]
)
def test_bool_mask_sums_the_selected_candidates(mask: list[bool]) -> None:
    model = three_linears()
    x = inputs()
    expected = sum(model.op[i](x) for i, keep in enumerate(mask) if keep)
    mutator = HandMutator(model, {"op": mask})
    mutator.reset()
    torch.testing.assert_close(model(x), expected)


@pytest.mark.parametrize("weights", [[0.2, 0.0, 0.8], [1.0, 0.0, 0.0], [0.5, -1.5, 2.0]])
def test_float_mask_is_the_weighted_sum_of_candidates(weights: list[float]) -> None:
    model = three_linears()
    x = inputs()
    expected = sum(w * model.op[i](x) for i, w in enumerate(weights) if w != 0)
    mutator = HandMutator(model, {"op": torch.tensor(weights)})
    mutator.reset()
    torch.testing.assert_close(model(x), expected)


def test_candidates_with_zero_weight_or_false_are_not_run() -> None:
    model = ThreeWay([Scale(2.0), Boom(), Scale(-3.0)])
    x = inputs()
    mutator = HandMutator(model, {"op": [0.25, 0.0, 1.0]})
    mutator.reset()
    torch.testing.assert_close(model(x), 0.25 * 2.0 * x + 1.0 * -3.0 * x)
    mutator.masks = {"op": [False, False, True]}
    mutator.reset()
    torch.testing.assert_close(model(x), -3.0 * x)


def test_integer_mask_acts_as_weights_and_exports() -> None:
    model = ThreeWay([Scale(2.0), Boom(), Scale(5.0)])
    x = inputs()
    mutator = HandMutator(model, {"op": [0, 0, 1]})
    mutator.reset()
    torch.testing.assert_close(model(x), 5.0 * x)
    assert mutator.export() == {"op": "2"}


def test_mask_selecting_nothing_raises_naming_the_label() -> None:
    model = three_linears()
    mutator = HandMutator(model, {"op": [False, False, False]})
    mutator.reset()
    with pytest.raises(RuntimeError, match="'op'"):
        model(inputs())


def test_summing_candidates_of_different_shapes_raises_naming_the_label() -> None:
    # The sum must not broadcast (3 + 1 features) nor concatenate tuple outputs.
    model = ThreeWay([nn.Linear(3, 3), nn.Linear(3, 1), nn.Linear(3, 3)])
    mutator = HandMutator(model, {"op": [0.5, 0.5, 0.0]})
    mutator.reset()
    with pytest.raises(RuntimeError, match=r"'op'.*different shapes"):
        model(inputs())


def test_float_mask_carries_gradients_to_architecture_weights() -> None:
    class Darts(Mutator):
        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__(model)
            self.alpha = torch.nn.Parameter(torch.tensor([0.1, -0.2, 0.3]))

        def sample_search(self) -> Mapping[str, Any]:
            return {"op": torch.softmax(self.alpha, 0)}

        def sample_final(self) -> Mapping[str, Any]:
            return {"op": self.alpha.detach()}

    model = three_linears()
    mutator = Darts(model)
    mutator.reset()
    x = inputs()
    model(x).sum().backward()
    assert mutator.alpha.grad is not None and mutator.alpha.grad.abs().sum() > 0
    weights = torch.softmax(mutator.alpha.detach(), 0)
    expected = sum(weights[i] * model.op[i](x) for i in range(3))
    torch.testing.assert_close(model(x), expected)
    # The final architecture is the candidate with the largest weight.
    assert mutator.export() == {"op": "2"}


# --- InputChoice under masks ----------------------------------------------------------------------


class Picker(nn.Module):
    def __init__(self, reduction: str, n_chosen: int | None = 2) -> None:
        super().__init__()
        self.pick = nn.InputChoice(3, n_chosen, reduction=reduction, label="pick")

    def forward(self, tensors: list[torch.Tensor]) -> Any:
        return self.pick(tensors)


TENSORS = [inputs(1), inputs(2), inputs(3)]


@pytest.mark.parametrize(
    ("reduction", "expected"),
    [
        ("sum", TENSORS[0] + TENSORS[2]),
        ("mean", (TENSORS[0] + TENSORS[2]) / 2),
        ("concat", torch.cat([TENSORS[0], TENSORS[2]], dim=1)),
        ("none", [TENSORS[0], TENSORS[2]]),
    ],
)
def test_input_choice_bool_mask_with_each_reduction(reduction: str, expected: Any) -> None:
    model = Picker(reduction)
    HandMutator(model, {"pick": [True, False, True]}).reset()
    torch.testing.assert_close(model(TENSORS), expected)


@pytest.mark.parametrize(
    ("reduction", "expected"),
    [
        ("sum", 0.3 * TENSORS[1] + 0.7 * TENSORS[2]),
        ("mean", (0.3 * TENSORS[1] + 0.7 * TENSORS[2]) / 2),
        ("concat", torch.cat([0.3 * TENSORS[1], 0.7 * TENSORS[2]], dim=1)),
        ("none", [0.3 * TENSORS[1], 0.7 * TENSORS[2]]),
    ],
)
def test_input_choice_weights_with_each_reduction(reduction: str, expected: Any) -> None:
    model = Picker(reduction)
    HandMutator(model, {"pick": [0.0, 0.3, 0.7]}).reset()
    torch.testing.assert_close(model(TENSORS), expected)


def test_input_choice_accepts_named_inputs_under_a_mutator() -> None:
    class Named(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.pick = nn.InputChoice(choose_from=["a", "b", "c"], n_chosen=1, label="pick")

        def forward(self, tensors: dict[str, torch.Tensor]) -> Any:
            return self.pick(tensors)

    model = Named()
    HandMutator(model, {"pick": [False, False, True]}).reset()
    torch.testing.assert_close(model(dict(zip("abc", TENSORS, strict=True))), TENSORS[2])


def test_input_choice_empty_subset_gives_none() -> None:
    model = Picker("sum", n_chosen=None)
    HandMutator(model, {"pick": [False, False, False]}).reset()
    assert model(TENSORS) is None


# --- reset, export, fix --------------------------------------------------------------------------


def test_reset_applies_each_new_sample_search() -> None:
    class Cycle(Mutator):
        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__(model)
            self.step = 0

        def sample_search(self) -> Mapping[str, Any]:
            index = self.step % 3
            self.step += 1
            return {"op": [i == index for i in range(3)]}

        def sample_final(self) -> Mapping[str, Any]:
            raise AssertionError("reset must not use sample_final")

    model = three_linears()
    mutator = Cycle(model)
    x = inputs()
    for expected_index in [0, 1, 2, 0]:
        mutator.reset()
        torch.testing.assert_close(model(x), model.op[expected_index](x))
        # The decision holds until the next reset.
        torch.testing.assert_close(model(x), model.op[expected_index](x))


def test_export_is_canonical_json_and_fixes_the_model() -> None:
    torch.manual_seed(0)
    model = Net()
    masks = {"first": [False, False, True], "shared": [False, True], "skip": [False, True, True]}
    mutator = HandMutator(model, masks)
    mutator.reset()
    arch = mutator.export()
    assert arch == {"first": "2", "shared": "y", "skip": [1, 2]}
    assert list(arch) == ["first", "shared", "skip"]
    assert json.loads(json.dumps(arch)) == arch
    x = inputs()
    fixed = archsearch.fix(model, arch, inherit_weights=True)
    torch.testing.assert_close(fixed(x), model(x))
    # Without inherited weights the architecture is the same: same modules, fresh parameters.
    fresh = archsearch.fix(model, arch)
    assert [type(m) for m in fresh.modules()] == [type(m) for m in fixed.modules()]


def test_export_of_float_masks_picks_the_largest_weights() -> None:
    model = Net()
    masks = {
        "first": [0.1, 0.7, 0.2],
        "shared": [0.6, 0.4],
        "skip": [0.5, 0.1, 0.4],
    }
    arch = HandMutator(model, masks).export()
    assert arch == {"first": "1", "shared": "x", "skip": [0, 2]}
    archsearch.fix(model, arch)  # accepted by fix as it is


def test_export_does_not_need_reset() -> None:
    model = Net()
    assert HandMutator(model, NET_MASKS).export() == {"first": "1", "shared": "x", "skip": [0, 2]}


# --- errors ---------------------------------------------------------------------------------------


def test_missing_label_raises_value_error_naming_it() -> None:
    masks = {"first": [True, False, False], "skip": [True, True, False]}
    mutator = HandMutator(Net(), masks)
    with pytest.raises(ValueError, match="shared"):
        mutator.reset()
    with pytest.raises(ValueError, match="shared"):
        mutator.export()


def test_unknown_label_raises_value_error_naming_it() -> None:
    mutator = HandMutator(Net(), {**NET_MASKS, "nowhere": [True]})
    with pytest.raises(ValueError, match="nowhere"):
        mutator.reset()


@pytest.mark.parametrize(
    ("label", "mask", "expected_length"),
    [
        ("first", [True, False], 3),
        ("shared", [True, False, False], 2),
        ("skip", [0.5, 0.5], 3),
        ("first", [[True, False, False]], 3),
    ],
)
def test_mask_of_wrong_length_names_label_and_expected_length(
    label: str, mask: Any, expected_length: int
) -> None:
    mutator = HandMutator(Net(), {**NET_MASKS, label: mask})
    with pytest.raises(ValueError, match=rf"{label!r}.*length {expected_length}"):
        mutator.reset()


def test_forward_before_reset_raises_a_clear_error() -> None:
    model = Net()
    HandMutator(model, NET_MASKS)
    with pytest.raises(RuntimeError, match=r"reset\(\)"):
        model(inputs())


def test_a_failed_reset_keeps_the_previous_decision() -> None:
    model = three_linears()
    mutator = HandMutator(model, {"op": [False, True, False]})
    mutator.reset()
    mutator.masks = {"op": [True]}
    with pytest.raises(ValueError):
        mutator.reset()
    x = inputs()
    torch.testing.assert_close(model(x), model.op[1](x))


def test_value_choice_as_layer_argument_is_rejected_naming_the_label() -> None:
    class Wide(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.op = nn.LayerChoice([nn.ReLU(), nn.Tanh()], label="op")
            self.fc = nn.Linear(3, nn.ValueChoice([4, 8], label="width"))

    model = Wide()
    with pytest.raises(TypeError, match="width"):
        HandMutator(model, {"op": [True, False], "width": [True, False]})
    # Nothing was bound by the failed construction.
    assert model.op.mutator is None


def test_the_mutator_itself_is_not_callable() -> None:
    mutator = HandMutator(three_linears(), {"op": [True, False, False]})
    with pytest.raises(RuntimeError, match="not called"):
        mutator(inputs())


# --- RandomMutator --------------------------------------------------------------------------------


class Deep(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.LayerChoice(
            {"lin": nn.Linear(3, 3), "tanh": nn.Tanh(), "id": nn.Identity()}, label="stem"
        )
        self.body = nn.Repeat(lambda: nn.Linear(3, 3), (1, 3), label="depth")
        self.head = nn.LayerChoice([nn.Linear(3, 3), nn.Sigmoid()])
        self.mix = nn.InputChoice(3, None, reduction="sum", label="mix")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.stem(x)
        b = self.body(a)
        c = self.head(b)
        mixed = self.mix([a, b, c])
        return c if mixed is None else mixed + c


def test_random_mutator_without_a_reference_runs_a_random_architecture() -> None:
    torch.manual_seed(0)
    model = Deep()
    x = inputs()
    archs = []
    for seed in range(12):
        RandomMutator(model, seed=seed).reset()  # the model keeps the mutator alive
        mutator = model.stem.mutator
        assert isinstance(mutator, RandomMutator)
        arch = {k: v.tolist() for k, v in mutator._cache.items()}
        fixed = archsearch.fix(model, arch, inherit_weights=True)
        torch.testing.assert_close(model(x), fixed(x))
        archs.append(archsearch.search_space(model).validate(arch))
    assert len({json.dumps(a) for a in archs}) > 1, "every seed gave the same architecture"


def test_random_mutator_samples_every_label_validly_and_reproducibly() -> None:
    model = Deep()
    space = archsearch.search_space(model)
    first = RandomMutator(model, seed=3)
    second = RandomMutator(copy.deepcopy(model), seed=3)
    for _ in range(5):
        first.reset()
        second.reset()
        assert first._cache.keys() == set(space.labels)
        a = space.validate({k: v.tolist() for k, v in first._cache.items()})
        b = space.validate({k: v.tolist() for k, v in second._cache.items()})
        assert a == b
    assert set(first.export()) == set(space.labels)


def test_random_mutator_draws_what_search_space_sample_draws() -> None:
    # Its per-label draws are its own (cached mask tensors), but seeded runs and checkpoints rely
    # on them consuming the generator as `SearchSpace.sample` does: the same architectures.
    model = Deep()
    space = archsearch.search_space(model)
    mutator = RandomMutator(model, seed=7)
    reference = random.Random(7)
    for _ in range(50):
        mutator.reset()
        drawn = space.validate({k: v.tolist() for k, v in mutator._cache.items()})
        assert drawn == space.sample(reference)
    assert mutator.rng.getstate() == reference.getstate()


# --- MutableScope hooks ---------------------------------------------------------------------------


class Recorder(HandMutator):
    def __init__(self, model: torch.nn.Module, masks: Mapping[str, Any]) -> None:
        super().__init__(model, masks)
        self.events: list[tuple[str, str]] = []

    def enter_mutable_scope(self, scope: nn.MutableScope) -> None:
        self.events.append(("enter", scope.label))

    def exit_mutable_scope(self, scope: nn.MutableScope) -> None:
        self.events.append(("exit", scope.label))

    def on_forward_layer_choice(self, mutable: nn.LayerChoice, *args: Any, **kwargs: Any) -> Any:
        self.events.append(("choice", mutable.label))
        return super().on_forward_layer_choice(mutable, *args, **kwargs)


class Block(nn.MutableScope):
    def __init__(self, label: str, fail: bool = False) -> None:
        super().__init__(label)
        self.op = nn.LayerChoice([nn.Identity(), nn.Tanh()], label=f"{label}.op")
        self.fail = fail

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.op(x)
        if self.fail:
            raise ValueError("block failed")
        return y


class Scoped(nn.Module):
    def __init__(self, fail: bool = False) -> None:
        super().__init__()
        self.one = Block("one")
        self.two = Block("two", fail=fail)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.two(self.one(x))


SCOPE_MASKS = {"one.op": [False, True], "two.op": [True, False]}


def test_scope_hooks_surround_the_scope_forward() -> None:
    model = Scoped()
    mutator = Recorder(model, SCOPE_MASKS)
    mutator.reset()
    x = inputs()
    torch.testing.assert_close(model(x), torch.tanh(x))
    assert mutator.events == [
        ("enter", "one"),
        ("choice", "one.op"),
        ("exit", "one"),
        ("enter", "two"),
        ("choice", "two.op"),
        ("exit", "two"),
    ]


def test_scope_exit_hook_runs_when_the_forward_raises() -> None:
    model = Scoped(fail=True)
    mutator = Recorder(model, SCOPE_MASKS)
    mutator.reset()
    with pytest.raises(ValueError, match="block failed"):
        model(inputs())
    assert mutator.events[-2:] == [("choice", "two.op"), ("exit", "two")]
    assert mutator.events.count(("enter", "two")) == 1


def test_scope_without_a_mutator_runs_plainly() -> None:
    model = Scoped()
    x = inputs()
    torch.testing.assert_close(model(x), x)  # first candidates: identities


# --- BaseMutator subclass and Repeat --------------------------------------------------------------


def test_base_mutator_subclass_decides_through_its_hooks() -> None:
    class LastEverything(BaseMutator):
        def on_forward_layer_choice(
            self, mutable: nn.LayerChoice, *args: Any, **kwargs: Any
        ) -> tuple[Any, torch.Tensor]:
            mask = torch.zeros(len(mutable), dtype=torch.bool)
            mask[-1] = True
            return mutable[-1](*args, **kwargs), mask

        def on_forward_input_choice(
            self, mutable: nn.InputChoice, tensor_list: list[torch.Tensor]
        ) -> tuple[Any, torch.Tensor]:
            return tensor_list[-1], torch.tensor([False, False, True])

        def on_forward_repeat(self, mutable: nn.Repeat) -> int:
            return mutable.depth_candidates()[-1]

    torch.manual_seed(0)
    model = Deep()
    LastEverything(model)
    x = inputs()
    arch = {"stem": "id", "depth": 3, "head": "1", "mix": [2]}
    fixed = archsearch.fix(model, arch, inherit_weights=True)
    torch.testing.assert_close(model(x), fixed(x))


class Stack(nn.Module):
    def __init__(self, depth: Any) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.rep = nn.Repeat(lambda i: Scale(float(i + 2)), depth, label="rep")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.rep(x)


@pytest.mark.parametrize(
    ("depth", "mask", "expected_depth"),
    [
        ((1, 3), [False, False, True], 3),
        ((1, 3), [True, False, False], 1),
        ((0, 2), [True, False, False], 0),
        ((1, 3), [0.1, 0.7, 0.2], 2),
        (nn.ValueChoice([3, 1], label="rep"), [False, True], 1),
    ],
)
def test_repeat_depth_under_a_mutator(depth: Any, mask: Any, expected_depth: int) -> None:
    model = Stack(depth)
    mutator = HandMutator(model, {"rep": mask})
    mutator.reset()
    x = inputs()
    expected = x
    for i in range(expected_depth):
        expected = expected * (i + 2)
    torch.testing.assert_close(model(x), expected)
    assert mutator.export() == {"rep": expected_depth}


# --- binding: copies, rebinding, unbinding, parameters --------------------------------------------


def test_deep_copy_bound_to_a_new_mutator_leaves_the_original_alone() -> None:
    torch.manual_seed(0)
    original = three_linears()
    first = HandMutator(original, {"op": [True, False, False]})
    first.reset()
    clone = copy.deepcopy(original)
    second = HandMutator(clone, {"op": [False, False, True]})
    second.reset()
    x = inputs()
    assert original.op.mutator is first
    assert clone.op.mutator is second
    torch.testing.assert_close(original(x), original.op[0](x))
    torch.testing.assert_close(clone(x), clone.op[2](x))
    # Same weights (a copy), different decisions.
    torch.testing.assert_close(clone.op[0](x), original.op[0](x))
    # The copy's mutator does not hold the original model.
    assert second.model is clone


def test_rebinding_replaces_the_old_mutator() -> None:
    model = three_linears()
    old = HandMutator(model, {"op": [True, False, False]})
    old.reset()
    new = HandMutator(model, {"op": [False, True, False]})
    new.reset()
    x = inputs()
    torch.testing.assert_close(model(x), model.op[1](x))
    old.unbind()  # unbinding the replaced mutator leaves the new binding in place
    assert model.op.mutator is new
    torch.testing.assert_close(model(x), model.op[1](x))


def test_unbind_returns_to_standalone_first_candidates() -> None:
    torch.manual_seed(0)
    model = Deep()
    x = inputs()
    standalone = model(x)
    mutator = HandMutator(
        model,
        {
            "stem": [False, True, False],
            "depth": [False, False, True],
            "head": [False, True],
            "mix": [True, True, True],
        },
    )
    mutator.reset()
    assert not torch.allclose(model(x), standalone)
    mutator.unbind()
    assert all(m.mutator is None for m in (model.stem, model.body, model.head, model.mix))
    torch.testing.assert_close(model(x), standalone)
    default = archsearch.fix(model, archsearch.search_space(model).default(), inherit_weights=True)
    torch.testing.assert_close(model(x), default(x))


def test_mutator_parameters_never_include_model_parameters() -> None:
    class WithAlphas(HandMutator):
        def __init__(self, model: torch.nn.Module, masks: Mapping[str, Any]) -> None:
            super().__init__(model, masks)
            self.alphas = torch.nn.ParameterDict(
                {label.replace(".", "_"): torch.nn.Parameter(torch.zeros(2)) for label in masks}
            )

    model = Scoped()
    model.extra = nn.Linear(3, 3)  # the model has parameters of its own
    mutator = WithAlphas(model, SCOPE_MASKS)
    model_ids = {id(p) for p in model.parameters()}
    assert model_ids
    assert [id(p) for p in mutator.parameters()] == [id(p) for p in mutator.alphas.values()]
    assert not model_ids & {id(p) for p in mutator.parameters()}
    assert all(key.startswith("alphas.") for key in mutator.state_dict())
    # ...and binding never makes the mutator's parameters part of the model.
    assert not {id(p) for p in mutator.parameters()} & {id(p) for p in model.parameters()}
    assert not any("alphas" in key for key in model.state_dict())
    assert HandMutator(three_linears(), {"op": [True, False, False]}).state_dict() == {}


def test_cell_under_random_mutator_matches_the_fixed_cell() -> None:
    class WithCell(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.cell = nn.Cell([nn.Linear(3, 3), nn.Tanh()], 3, 2, 2, label="c")

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out: torch.Tensor = self.cell(x, 2 * x)
            return out

    torch.manual_seed(0)
    model = WithCell()
    x = inputs()
    for seed in range(4):
        mutator = RandomMutator(model, seed=seed)
        mutator.reset()
        arch = {label: mask.tolist() for label, mask in mutator._cache.items()}
        fixed = archsearch.fix(model, arch, inherit_weights=True)
        torch.testing.assert_close(model(x), fixed(x))
