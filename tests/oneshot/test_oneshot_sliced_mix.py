"""Weight sharing for value choices in "mix" mode (DARTS, GDAS): masked, differentiable.

Reference: with one-hot float weights the first channels equal `archsearch.fix(model, arch,
inherit_weights=True)` and the others are exactly zero; soft weights get gradients.
"""

from __future__ import annotations

import pytest
import torch
from oneshot_models import DigitsValueNet
from test_oneshot_sliced import FixedMasks, masks_of, supernet, warm_up

import archsearch
import archsearch.nn as nn
from archsearch.mutator import Mutator, ReplayMutator


class Softmax(Mutator):
    """DARTS-like: a live softmax of architecture weights that require grad."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__(model)
        self.alpha = {
            label: torch.randn(dim.size(), requires_grad=True)
            for label, dim in self.search_space.items()
        }

    def decision_for(self, label: str) -> torch.Tensor:
        return self.alpha[label].softmax(0)


class Products(nn.Module):
    """Mix-mode friendly: sizes derived from two labels (product distribution)."""

    def __init__(self) -> None:
        super().__init__()
        a = nn.ValueChoice([2, 3], label="a")
        b = nn.ValueChoice([1, 2], label="b")
        self.fc1 = nn.Linear(5, a * b)
        self.norm = nn.LayerNorm(a * b)
        self.drop = nn.Dropout(nn.ValueChoice([0.0, 0.3], label="p"))
        self.fc2 = nn.Linear(a * b, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.drop(self.norm(torch.relu(self.fc1(x)))))


class Depthwise(nn.Module):
    """A grouped convolution whose channels per group stay fixed: mixable."""

    def __init__(self) -> None:
        super().__init__()
        width = nn.ValueChoice([2, 4], label="width")
        kernel = nn.ValueChoice([3, 5], label="kernel")
        self.conv = nn.Conv1d(1, width, 1)
        self.dw = nn.Conv1d(width, width * 2, kernel, padding=kernel // 2, groups=width)
        self.fc = nn.Linear(width * 2, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.dw(self.conv(x)).mean(-1))


# ----- mix mode: masked, differentiable -----------------------------------------------------


@pytest.mark.parametrize("training", [True, False])
def test_one_hot_mix_equals_fix_on_chosen_channels(training: bool) -> None:
    torch.manual_seed(0)
    model = supernet(DigitsValueNet(), "mix")
    space = archsearch.search_space(model)
    x = torch.randn(6, 1, 8, 8)
    warm_up(model, x)
    for arch in space.grid():
        model.train(training)
        fixed = archsearch.fix(model, arch, inherit_weights=True)
        stats = model.bn.running_var.clone()
        FixedMasks(model, masks_of(space, arch, torch.float32))
        w = arch["width"]
        conv = model.conv(x)
        assert torch.allclose(conv[:, :w], fixed.conv(x), atol=1e-6)
        assert torch.all(conv[:, w:] == 0)
        bn = model.bn(conv)
        assert torch.allclose(bn[:, :w], fixed.bn(fixed.conv(x)), atol=1e-5)
        assert torch.all(bn[:, w:] == 0)
        assert torch.allclose(model.bn.running_var[:w], fixed.bn.running_var)
        assert torch.equal(model.bn.running_var[w:], stats[w:])
        assert torch.allclose(model(x), fixed(x), atol=1e-5), arch


def test_one_hot_mix_of_products_layer_norm_and_dropout() -> None:
    torch.manual_seed(0)
    model = supernet(Products(), "mix")
    space = archsearch.search_space(model)
    x = torch.randn(7, 5)
    for arch in space.grid():
        fixed = archsearch.fix(model, arch, inherit_weights=True)
        FixedMasks(model, masks_of(space, arch, torch.float32))
        n = arch["a"] * arch["b"]
        hidden = model.norm(model.fc1(x))
        assert torch.allclose(hidden[:, :n], fixed.norm(fixed.fc1(x)), atol=1e-5)
        assert torch.all(hidden[:, n:] == 0)
        # Eval mode: dropout draws depend on the (maximal) tensor size, so only p itself is shared.
        model.eval()
        fixed.eval()
        assert torch.allclose(model(x), fixed(x), atol=1e-5), arch
        model.train()


def test_one_hot_mix_of_a_grouped_convolution() -> None:
    torch.manual_seed(0)
    model = supernet(Depthwise(), "mix")
    assert model.dw.weight.shape == (8, 1, 5) and model.dw.groups == 4
    space = archsearch.search_space(model)
    x = torch.randn(3, 1, 12)
    for arch in space.grid():
        fixed = archsearch.fix(model, arch, inherit_weights=True)
        FixedMasks(model, masks_of(space, arch, torch.float32))
        n = arch["width"] * 2
        hidden = model.dw(model.conv(x))
        assert torch.allclose(hidden[:, :n], fixed.dw(fixed.conv(x)), atol=1e-6)
        assert torch.all(hidden[:, n:] == 0)
        assert torch.allclose(model(x), fixed(x), atol=1e-6), arch


def test_bool_decisions_slice_in_mix_mode() -> None:
    model = supernet(DigitsValueNet(), "mix").eval()
    arch = {"width": 4, "kernel": 5, "op": "1"}
    ReplayMutator(model, arch)
    x = torch.randn(2, 1, 8, 8)
    assert model.conv(x).shape == (2, 4, 8, 8)
    assert torch.equal(model(x), archsearch.fix(model, arch, inherit_weights=True)(x))


@pytest.mark.parametrize("factory", [DigitsValueNet, Products])
def test_mix_gradients_reach_the_decision_weights(factory: type[nn.Module]) -> None:
    torch.manual_seed(0)
    model = supernet(factory(), "mix")
    mutator = Softmax(model)
    x = torch.randn(4, 1, 8, 8) if factory is DigitsValueNet else torch.randn(4, 5)
    model(x).square().mean().backward()
    for label, alpha in mutator.alpha.items():
        assert alpha.grad is not None and alpha.grad.abs().sum() > 0, label
    assert all(p.grad is not None for p in model.parameters())


def test_float_masks_requiring_grad_get_gradients() -> None:
    model = supernet(DigitsValueNet(), "mix")
    space = archsearch.search_space(model)
    masks = masks_of(space, {"width": 8, "kernel": 3, "op": "0"}, torch.float32)
    for mask in masks.values():
        mask.requires_grad_(True)
    FixedMasks(model, masks)
    model(torch.randn(3, 1, 8, 8)).sum().backward()
    assert masks["width"].grad is not None and masks["width"].grad.abs().sum() > 0
    assert masks["kernel"].grad is not None and masks["kernel"].grad.abs().sum() > 0
