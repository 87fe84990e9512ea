"""fix() and apply_fixed_architecture(): plain models, weights, arch spellings, errors."""

from __future__ import annotations

import copy
import json
import pathlib
from typing import Any

import pytest
import torch

import archsearch
import archsearch.nn as nn
from archsearch import InvalidArchitectureError

ALLOWED_ARCHSEARCH_CLASSES = {"FixedInputChoice", "FixedCell"}


def block() -> torch.nn.Module:
    return nn.Sequential(nn.Conv1d(8, 8, 3, padding=1), nn.ReLU())


class Space(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        hidden = nn.ValueChoice([16, 32], label="hidden")
        self.conv = nn.LayerChoice(
            {"c3": nn.Conv1d(1, 8, 3, padding=1), "c5": nn.Conv1d(1, 8, 5, padding=2)},
            label="conv",
        )
        self.act = nn.LayerChoice([nn.ReLU(), nn.Tanh()])
        self.skip = nn.InputChoice(2, 1, label="skip")
        self.blocks = nn.Repeat(block, (1, 3), label="depth")
        self.pool = nn.AdaptiveAvgPool1d(1)
        self.fc = nn.Linear(8, hidden)
        self.out = nn.Linear(hidden, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.act(self.conv(x))
        h = self.skip([self.blocks(h), h])
        h = self.pool(h).flatten(1)
        return self.out(torch.relu(self.fc(h)))


class Plain(torch.nn.Module):
    """Space under ARCH, written by hand in plain torch."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv1d(1, 8, 5, padding=2)
        self.act = torch.nn.Tanh()
        self.blocks = torch.nn.Sequential(
            *(
                torch.nn.Sequential(torch.nn.Conv1d(8, 8, 3, padding=1), torch.nn.ReLU())
                for _ in "ab"
            )
        )
        self.pool = torch.nn.AdaptiveAvgPool1d(1)
        self.fc = torch.nn.Linear(8, 32)
        self.out = torch.nn.Linear(32, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.blocks(self.act(self.conv(x)))
        return self.out(torch.relu(self.fc(self.pool(h).flatten(1))))


ARCH: dict[str, Any] = {"conv": "c5", "act": "1", "skip": [0], "depth": 2, "hidden": 32}
X = torch.randn(4, 1, 12)


def make_space() -> Space:
    torch.manual_seed(0)
    return Space()


def archsearch_classes(model: torch.nn.Module) -> set[str]:
    return {
        type(m).__name__ for m in model.modules() if type(m).__module__.startswith("archsearch")
    }


def snapshot(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items()}


def assert_same_state(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=0, msg=k)


# --- the fixed model is plain torch -------------------------------------------------------------


def test_space_labels() -> None:
    assert archsearch.search_space(make_space()).labels == [
        "conv",
        "act",
        "skip",
        "depth",
        "hidden",
    ]


def test_fixed_model_has_no_archsearch_classes() -> None:
    fixed = archsearch.fix(make_space(), ARCH)
    assert archsearch_classes(fixed) <= ALLOWED_ARCHSEARCH_CLASSES
    assert archsearch_classes(fixed) == {"FixedInputChoice"}
    assert type(fixed.conv) is torch.nn.Conv1d
    assert type(fixed.act) is torch.nn.Tanh
    assert type(fixed.blocks) is torch.nn.Sequential
    assert type(fixed.fc) is torch.nn.Linear  # rebuilt from a value choice
    assert type(fixed.pool) is torch.nn.AdaptiveAvgPool1d  # archsearch subclass without choices
    assert fixed.fc.out_features == fixed.out.in_features == 32


def test_fixed_cell_model_has_only_wiring_classes() -> None:
    model = nn.Sequential(
        nn.Linear(3, 4),
        nn.Cell([nn.Linear(4, 4), nn.ReLU()], 2, 1, 1, label="cell"),
        nn.Linear(8, 2),
    )
    arch = archsearch.search_space(model).sample(3)
    fixed = archsearch.fix(model, arch)
    assert archsearch_classes(fixed) == {"FixedCell"}
    assert fixed(torch.randn(2, 3)).shape == (2, 2)


def test_parameter_count_equals_hand_written_model() -> None:
    fixed = archsearch.fix(make_space(), ARCH)
    count = sum(p.numel() for p in fixed.parameters())
    assert count == sum(p.numel() for p in Plain().parameters())
    # 1*8*5+8 + 2*(8*8*3+8) + 8*32+32 + 32*3+3
    assert count == 48 + 2 * 200 + 288 + 99


@pytest.mark.parametrize("inherit", [True, False])
def test_state_dict_loads_strictly_into_hand_written_model(inherit: bool) -> None:
    fixed = archsearch.fix(make_space(), ARCH, inherit_weights=inherit)
    plain = Plain()
    plain.load_state_dict(fixed.state_dict(), strict=True)
    torch.testing.assert_close(fixed(X), plain(X))


def test_fix_returns_new_module_and_leaves_original_untouched() -> None:
    model = make_space()
    before = snapshot(model)
    standalone = model(X)
    space = archsearch.search_space(model)
    for inherit in (True, False):
        fixed = archsearch.fix(model, ARCH, inherit_weights=inherit)
        assert fixed is not model
        # No storage is shared: training the fixed model never edits the supernet.
        ours = {p.data_ptr() for p in fixed.parameters()}
        assert ours.isdisjoint(p.data_ptr() for p in model.parameters())
    assert_same_state(snapshot(model), before)
    assert isinstance(model.conv, nn.LayerChoice)
    assert isinstance(model.skip, nn.InputChoice)
    assert isinstance(model.blocks, nn.Repeat)
    assert type(model.fc) is nn.Linear
    assert archsearch.search_space(model) == space
    torch.testing.assert_close(model(X), standalone)


def test_training_mode_is_kept() -> None:
    model = make_space().eval()
    fixed = archsearch.fix(model, ARCH)
    assert not any(m.training for m in fixed.modules())
    fixed_train = archsearch.fix(make_space(), ARCH)
    assert all(m.training for m in fixed_train.modules())


def test_training_mode_of_wiring_follows_the_choice_and_children_keep_theirs() -> None:
    model = nn.Sequential(
        nn.Repeat(lambda: nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4)), (1, 2)),
        nn.Cell([nn.Identity(), nn.BatchNorm1d(4)], 2, label="cell"),
    )
    model.train()
    model[0].blocks[1][1].eval()  # a frozen BatchNorm
    model[1].ops[1][0][1].eval()
    arch = {**archsearch.search_space(model).default(), "0": 2, "cell/op_1_0": 1}
    fixed = archsearch.fix(model, arch)
    assert fixed[0].training and fixed[1].training
    assert all(m.training for m in fixed[1].ops.modules() if type(m) is torch.nn.ModuleList)
    assert not fixed[0][1][1].training
    assert fixed[0][0][1].training
    assert not fixed[1].ops[1][0].training
    model.eval()
    fixed_eval = archsearch.fix(model, arch)
    assert not any(m.training for m in fixed_eval.modules())


# --- weights ------------------------------------------------------------------------------------


def test_standalone_equals_fixed_default_with_inherited_weights() -> None:
    model = make_space()
    default = archsearch.search_space(model).default()
    assert default == {"conv": "c3", "act": "0", "skip": [0], "depth": 1, "hidden": 16}
    fixed = archsearch.fix(model, default, inherit_weights=True)
    torch.testing.assert_close(fixed(X), model(X))


def test_inherited_weights_equal_the_supernet_path() -> None:
    model = make_space()
    arch = {**ARCH, "hidden": 16}  # value choice at its built size: weights carry over whole
    fixed = archsearch.fix(model, arch, inherit_weights=True)
    h = torch.tanh(model.conv["c5"](X))
    for b in model.blocks.blocks[:2]:
        h = b(h)
    expected = model.out(torch.relu(model.fc(model.pool(h).flatten(1))))
    torch.testing.assert_close(fixed(X), expected)
    torch.testing.assert_close(fixed.conv.weight, model.conv["c5"].weight, rtol=0, atol=0)


def test_inherited_weights_with_skip_input() -> None:
    model = make_space()
    fixed = archsearch.fix(model, {**ARCH, "skip": [1], "hidden": 16}, inherit_weights=True)
    h = torch.tanh(model.conv["c5"](X))
    expected = model.out(torch.relu(model.fc(model.pool(h).flatten(1))))
    torch.testing.assert_close(fixed(X), expected)


def test_without_inheritance_every_parameter_is_reinitialised() -> None:
    model = make_space()
    arch = {**ARCH, "hidden": 16}
    fixed = archsearch.fix(model, arch, inherit_weights=False)
    inherited = archsearch.fix(model, arch, inherit_weights=True)
    fresh, kept = fixed.state_dict(), inherited.state_dict()
    assert fresh.keys() == kept.keys()
    for name in fresh:
        assert fresh[name].shape == kept[name].shape
        assert not torch.equal(fresh[name], kept[name]), name


def test_value_choice_layers_inherit_the_overlapping_slice() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(4, nn.ValueChoice([8, 16], label="c"), nn.ValueChoice([5, 3], label="k")),
        nn.BatchNorm2d(nn.ValueChoice([8, 16], label="c")),
    )
    with torch.no_grad():
        model[1].running_mean.copy_(torch.randn(8))
    conv, bn = model[0], model[1]
    assert conv.weight.shape == (8, 4, 5, 5)

    same = archsearch.fix(model, {"c": 8, "k": 5}, inherit_weights=True)
    torch.testing.assert_close(same[0].weight, conv.weight, rtol=0, atol=0)

    # Smaller kernel: the centre 3x3 of the 5x5 kernel.
    small = archsearch.fix(model, {"c": 8, "k": 3}, inherit_weights=True)
    torch.testing.assert_close(small[0].weight, conv.weight[:, :, 1:4, 1:4], rtol=0, atol=0)
    torch.testing.assert_close(small[0].bias, conv.bias, rtol=0, atol=0)

    # More channels: the leading 8 are inherited, the others are new.
    wide = archsearch.fix(model, {"c": 16, "k": 5}, inherit_weights=True)
    assert wide[0].weight.shape == (16, 4, 5, 5)
    torch.testing.assert_close(wide[0].weight[:8], conv.weight, rtol=0, atol=0)
    assert not torch.equal(wide[0].weight[8:], wide[0].weight[:8])
    torch.testing.assert_close(wide[1].running_mean[:8], bn.running_mean, rtol=0, atol=0)
    torch.testing.assert_close(wide[1].running_mean[8:], torch.zeros(8), rtol=0, atol=0)

    fresh = archsearch.fix(model, {"c": 8, "k": 3}, inherit_weights=False)
    assert not torch.equal(fresh[0].weight, conv.weight[:, :, 1:4, 1:4])


def test_smaller_kernel_in_a_larger_fixed_kernel_is_centred() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv1d(2, 3, nn.ValueChoice([3, 7], label="k")))
    big = archsearch.fix(model, {"k": 7}, inherit_weights=True)
    torch.testing.assert_close(big[0].weight[:, :, 2:5], model[0].weight, rtol=0, atol=0)


def test_linear_inherits_leading_rows_and_columns() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(nn.ValueChoice([6, 4], label="i"), nn.ValueChoice([5, 2], label="o"))
    )
    fixed = archsearch.fix(model, {"i": 4, "o": 2}, inherit_weights=True)
    torch.testing.assert_close(fixed[0].weight, model[0].weight[:2, :4], rtol=0, atol=0)
    torch.testing.assert_close(fixed[0].bias, model[0].bias[:2], rtol=0, atol=0)


# --- apply_fixed_architecture -------------------------------------------------------------------


def check_applied(model: Space, returned: torch.nn.Module, before: dict[str, torch.Tensor]) -> None:
    assert returned is model
    assert type(model.conv) is torch.nn.Conv1d
    assert type(model.blocks) is torch.nn.Sequential
    assert archsearch_classes(model) <= ALLOWED_ARCHSEARCH_CLASSES
    # Weights are kept (fc was rebuilt at a new size: its leading rows are kept).
    torch.testing.assert_close(model.conv.weight, before["conv.c5.weight"], rtol=0, atol=0)
    torch.testing.assert_close(model.blocks[1][0].weight, before["blocks.1.0.weight"])
    torch.testing.assert_close(model.fc.weight[:16], before["fc.weight"], rtol=0, atol=0)
    plain = Plain()
    plain.load_state_dict(model.state_dict(), strict=True)
    torch.testing.assert_close(model(X), plain(X))


def test_apply_fixed_architecture_with_dict() -> None:
    model = make_space()
    before = snapshot(model)
    check_applied(model, archsearch.apply_fixed_architecture(model, ARCH), before)


@pytest.mark.parametrize("as_str", [True, False])
def test_apply_fixed_architecture_with_json_file(tmp_path: pathlib.Path, as_str: bool) -> None:
    path = tmp_path / "arch.json"
    path.write_text(json.dumps(ARCH), encoding="utf-8")
    model = make_space()
    before = snapshot(model)
    returned = nn.apply_fixed_architecture(model, str(path) if as_str else path)
    check_applied(model, returned, before)


def test_apply_fixed_architecture_on_invalid_arch_leaves_model_alone() -> None:
    model = make_space()
    before = snapshot(model)
    with pytest.raises(InvalidArchitectureError, match="'depth'"):
        archsearch.apply_fixed_architecture(model, {**ARCH, "depth": 9})
    assert isinstance(model.conv, nn.LayerChoice)
    assert_same_state(snapshot(model), before)


# --- architecture spellings and errors ----------------------------------------------------------

SPELLINGS: list[dict[str, Any]] = [
    ARCH,
    {"conv": 1, "act": 1, "skip": 0, "depth": 2, "hidden": 32},
    {"conv": ["c5"], "act": [1], "skip": ["0"], "depth": 2, "hidden": 32},
    {
        "conv": [False, True],
        "act": [False, True],
        "skip": [True, False],
        "depth": [False, True, False],
        "hidden": [False, True],
    },
    {
        "conv": [0.25, 0.75],
        "act": [0.1, 0.9],
        "skip": [0.6, 0.4],
        "depth": [0.2, 0.5, 0.3],
        "hidden": [0.0, 1.0],
    },
    {"hidden": 32, "depth": 2, "skip": "0", "act": "1", "conv": "c5"},  # any key order
]


def seeded_fix(model: torch.nn.Module, arch: dict[str, Any]) -> torch.nn.Module:
    # Layers grown by a value choice get fresh weights beyond the inherited slice: seed them.
    torch.manual_seed(1)
    return archsearch.fix(model, arch, inherit_weights=True)


def test_every_spelling_gives_the_same_fixed_model() -> None:
    model = make_space()
    reference = seeded_fix(model, ARCH)
    for arch in SPELLINGS:
        fixed = seeded_fix(model, arch)
        assert repr(fixed) == repr(reference), arch
        assert_same_state(fixed.state_dict(), reference.state_dict())
        torch.testing.assert_close(fixed(X), reference(X))


@pytest.mark.parametrize(
    ("change", "label"),
    [
        ({"conv": "c7"}, "conv"),
        ({"conv": 2}, "conv"),
        ({"conv": [True, True]}, "conv"),
        ({"act": "relu"}, "act"),
        ({"skip": [0, 1]}, "skip"),
        ({"skip": [2]}, "skip"),
        ({"depth": 0}, "depth"),
        ({"depth": 4}, "depth"),
        ({"hidden": 24}, "hidden"),
        ({"hidden": "32"}, "hidden"),
        ({"extra": 1}, "extra"),
    ],
)
def test_invalid_arch_raises_naming_the_label(change: dict[str, Any], label: str) -> None:
    with pytest.raises(InvalidArchitectureError, match=f"'{label}'"):
        archsearch.fix(make_space(), {**ARCH, **change})


@pytest.mark.parametrize("missing", ["conv", "skip", "hidden"])
def test_missing_label_raises_naming_it(missing: str) -> None:
    arch = {k: v for k, v in ARCH.items() if k != missing}
    with pytest.raises(InvalidArchitectureError, match=f"missing label '{missing}'"):
        archsearch.fix(make_space(), arch)


def test_invalid_architecture_error_is_a_value_error() -> None:
    assert issubclass(InvalidArchitectureError, ValueError)
    with pytest.raises(InvalidArchitectureError):
        archsearch.fix(make_space(), ["c5"])  # type: ignore[arg-type]


# --- other structure ----------------------------------------------------------------------------


def test_shared_submodules_stay_shared() -> None:
    lin = nn.Linear(3, 3)
    model = nn.ModuleDict({"a": lin, "b": nn.LayerChoice([lin, nn.ReLU()], label="op")})
    fixed = archsearch.fix(model, {"op": 0}, inherit_weights=True)
    assert fixed["a"] is fixed["b"]
    assert type(fixed["a"]) is torch.nn.Linear
    assert len(list(fixed.parameters())) == 2


def test_root_layer_choice_fixes_to_the_candidate() -> None:
    model = nn.LayerChoice({"relu": nn.ReLU(), "tanh": nn.Tanh()})
    assert type(archsearch.fix(model, {"root": "tanh"})) is torch.nn.Tanh


def test_model_without_choices_fixes_with_empty_arch() -> None:
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    fixed = archsearch.fix(model, {}, inherit_weights=True)
    assert type(fixed[0]) is torch.nn.Linear
    torch.testing.assert_close(fixed[0].weight, model[0].weight)
    with pytest.raises(InvalidArchitectureError):
        archsearch.fix(model, {"x": 1})


def test_fix_is_repeatable_on_the_same_model() -> None:
    model = make_space()
    a = seeded_fix(model, ARCH)
    b = seeded_fix(copy.deepcopy(model), ARCH)
    assert_same_state(a.state_dict(), b.state_dict())


# --- against a supernet run by a mutator --------------------------------------------------------


class NoValueSpace(nn.Module):
    """Space without value-choice arguments, so a plain mutator can run any of its paths."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.LayerChoice(
            {"c3": nn.Conv1d(1, 8, 3, padding=1), "c5": nn.Conv1d(1, 8, 5, padding=2)}
        )
        self.act = nn.LayerChoice([nn.ReLU(), nn.Tanh()])
        self.skip = nn.InputChoice(2, None, "mean")
        self.blocks = nn.Repeat(block, (1, 3))
        self.cell = nn.Cell([nn.Conv1d(8, 8, 1), nn.Sigmoid()], 2, 1, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.act(self.conv(x))
        h = self.skip([self.blocks(h), h])
        return self.cell(h, x.expand(-1, 8, -1))


def test_fixed_model_equals_supernet_path_chosen_by_a_mutator() -> None:
    from archsearch.mutator import Mutator

    class Chosen(Mutator):
        """Runs one given architecture (bool masks)."""

        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__(model)
            self.arch: dict[str, Any] = {}

        def sample_search(self) -> dict[str, list[bool]]:
            return {label: dim.mask(self.arch[label]) for label, dim in self.search_space.items()}

        def sample_final(self) -> dict[str, list[bool]]:
            return self.sample_search()

    torch.manual_seed(0)
    model = NoValueSpace()
    mutator = Chosen(model)
    space = mutator.search_space
    x = torch.randn(2, 1, 6)
    for seed in range(12):
        arch = space.sample(seed)
        if not arch["skip"]:
            arch["skip"] = [1]  # an empty subset gives None, which the model does not handle
        mutator.arch = arch
        mutator.reset()
        fixed = archsearch.fix(model, arch, inherit_weights=True)
        assert not any("_mutator" in m.__dict__ for m in fixed.modules())
        torch.testing.assert_close(fixed(x), model(x), msg=str(arch))
    assert model.conv.mutator is mutator  # the original stays bound
