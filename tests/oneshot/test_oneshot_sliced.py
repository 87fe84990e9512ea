"""Weight sharing for value choices used as layer arguments: conversion and "slice" mode.

Reference: a sliced path equals `archsearch.fix(model, arch, inherit_weights=True)` exactly. The
"mix" mode is tested in test_oneshot_sliced_mix.py, with the helpers defined here.
"""

from __future__ import annotations

import copy
import io
import random
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import torch
from oneshot_models import DigitsValueNet

import archsearch
import archsearch.nn as nn
from archsearch.evaluator import Split
from archsearch.mutator import Mutator, RandomMutator, ReplayMutator
from archsearch.oneshot import RandomTrainer, accuracy
from archsearch.oneshot.sliced import to_supernet


class FixedMasks(Mutator):
    """Decides the given masks (bool or float), label → mask."""

    def __init__(self, model: torch.nn.Module, masks: Mapping[str, Any]) -> None:
        super().__init__(model)
        self.masks = dict(masks)
        self.reset()

    def sample_search(self) -> dict[str, Any]:
        return self.masks

    def sample_final(self) -> dict[str, Any]:
        return self.masks


class Layers1d(nn.Module):
    """Every kind of supported layer, with derived, multi-label and grouped choices."""

    def __init__(self) -> None:
        super().__init__()
        width = nn.ValueChoice([4, 6], label="width")
        kernel = nn.ValueChoice([1, 3, 5], label="kernel")
        dilation = nn.ValueChoice([1, 2], label="dilation")
        self.conv = nn.Conv1d(2, width, kernel, padding=kernel // 2, padding_mode="reflect")
        self.bn = nn.BatchNorm1d(width)
        self.depthwise = nn.Conv1d(
            width, width, 3, padding=dilation, dilation=dilation, groups=width
        )
        self.wide = nn.Conv1d(
            width, width * 2, nn.ValueChoice([2, 4], label="even"), padding="same"
        )
        self.pool = nn.MaxPool1d(nn.ValueChoice([1, 2], label="pool"))
        self.norm = nn.LayerNorm(width * 2)
        self.drop = nn.Dropout(nn.ValueChoice([0.0, 0.5], label="drop"))
        self.fc = nn.Linear(width * 2, nn.ValueChoice([3, 5], label="out"))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.bn(self.conv(x)))
        x = self.pool(self.wide(self.depthwise(x)))
        return self.fc(self.drop(self.norm(x.mean(-1))))


def supernet(model: torch.nn.Module, mode: str = "slice") -> torch.nn.Module:
    to_supernet(model, nn.walk(model), trainer="TestTrainer", mode=mode)
    return model


def masks_of(space: archsearch.SearchSpace, arch: Mapping[str, Any], dtype: Any) -> dict[str, Any]:
    return {label: torch.tensor(dim.mask(arch[label]), dtype=dtype) for label, dim in space.items()}


def warm_up(model: torch.nn.Module, x: torch.Tensor, steps: int = 3) -> None:
    """A few random-path training forwards, so running statistics are not trivial."""
    sampler = RandomMutator(model, seed=1)
    model.train()
    with torch.no_grad():
        for _ in range(steps):
            sampler.reset()
            model(x)
    sampler.unbind()


def sample_archs(model: torch.nn.Module, n: int) -> list[dict[str, Any]]:
    space = archsearch.search_space(model)
    rng = random.Random(0)
    return [space.default(), *(space.sample(rng) for _ in range(n - 1))]


# ----- conversion ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["slice", "mix"])
def test_search_space_and_layer_classes(mode: str) -> None:
    model = DigitsValueNet()
    before = archsearch.search_space(model)
    supernet(model, mode)
    assert archsearch.search_space(model) == before
    assert before.to_json() == archsearch.search_space(model).to_json()
    assert model.conv.weight.shape == (12, 1, 5, 5)
    assert model.op[0].weight.shape == (12, 12, 3, 3)
    assert model.head.weight.shape == (10, 12)
    assert model.bn.running_mean.shape == (12,)
    assert all(getattr(m, "weight_sharing", False) for m in nn.walk(model).value_modules)
    fixed = archsearch.fix(model, before.default())
    assert type(fixed.conv) is torch.nn.Conv2d
    assert not any(type(m).__module__.startswith("archsearch") for m in fixed.modules())


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_standalone_runs_the_first_candidates_with_the_original_weights(dtype: Any) -> None:
    torch.manual_seed(0)
    model = DigitsValueNet().to(dtype).eval()
    x = torch.randn(3, 1, 8, 8, dtype=dtype)
    expected = model(x)
    supernet(model)
    assert model.conv.weight.dtype == model.bn.running_var.dtype == dtype
    assert torch.equal(model(x), expected)
    if dtype != torch.float32:
        return  # fix() rebuilds re-sized layers in the default dtype (moves devices only)
    fixed = archsearch.fix(model, archsearch.search_space(model).default(), inherit_weights=True)
    assert torch.equal(fixed(x), expected)


def test_optimizer_built_before_conversion_trains_the_shared_weights() -> None:
    torch.manual_seed(0)
    model = DigitsValueNet()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    params = list(model.parameters())
    supernet(model)
    assert [id(p) for p in model.parameters()] == [id(p) for p in params]
    assert model.conv.weight is params[0] and model.conv.weight.shape == (12, 1, 5, 5)
    ReplayMutator(model, {"width": 12, "kernel": 5, "op": "0"})
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    x, y = torch.randn(8, 1, 8, 8), torch.randint(0, 10, (8,))
    for _ in range(2):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    changed = {name for name, p in model.named_parameters() if not torch.equal(p, before[name])}
    # conv.bias feeds a BatchNorm, which cancels it: its gradient is exactly zero.
    assert changed == set(before) - {"conv.bias"}


def test_converting_again_keeps_parameters_and_space() -> None:
    model = supernet(DigitsValueNet())
    params = [id(p) for p in model.parameters()]
    space = archsearch.search_space(model)
    supernet(model, "mix")
    assert [id(p) for p in model.parameters()] == params
    assert archsearch.search_space(model) == space
    assert model.conv.weight.shape == (12, 1, 5, 5)


# ----- slice mode: equal to the fixed model -------------------------------------------------


@pytest.mark.parametrize("training", [True, False])
def test_slice_equals_fix_with_inherited_weights(training: bool) -> None:
    torch.manual_seed(0)
    model = supernet(DigitsValueNet())
    x = torch.randn(6, 1, 8, 8)
    warm_up(model, x)
    for arch in archsearch.search_space(model).grid():
        model.train(training)
        fixed = archsearch.fix(model, arch, inherit_weights=True)
        stats = model.bn.running_mean.clone(), model.bn.running_var.clone()
        ReplayMutator(model, arch)
        out, expected = model(x), fixed(x)
        assert torch.equal(out, expected), arch
        w = arch["width"]
        # Only the chosen channels' running statistics moved, exactly as in the fixed model.
        assert torch.equal(model.bn.running_mean[:w], fixed.bn.running_mean)
        assert torch.equal(model.bn.running_var[:w], fixed.bn.running_var)
        assert torch.equal(model.bn.running_mean[w:], stats[0][w:])
        assert torch.equal(model.bn.running_var[w:], stats[1][w:])
        assert torch.equal(model.bn.num_batches_tracked, fixed.bn.num_batches_tracked)


def test_slice_gradients_land_on_the_inherited_slice() -> None:
    torch.manual_seed(0)
    model = supernet(DigitsValueNet())
    arch = {"width": 8, "kernel": 3, "op": "0"}
    fixed = archsearch.fix(model, arch, inherit_weights=True)
    ReplayMutator(model, arch)
    x = torch.randn(4, 1, 8, 8)
    model(x).square().sum().backward()
    fixed(x).square().sum().backward()
    grad = model.conv.weight.grad
    assert grad is not None and fixed.conv.weight.grad is not None
    assert torch.allclose(grad[:8, :, 1:4, 1:4], fixed.conv.weight.grad)
    assert grad[8:].abs().sum() == 0 and grad[:, :, 0].abs().sum() == 0


def backward_nodes(output: torch.Tensor) -> Counter[str]:
    """How many autograd nodes of each kind lead to `output`."""
    counts: Counter[str] = Counter()
    seen: set[Any] = set()
    pending = [output.grad_fn]
    while pending:
        node = pending.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        counts[type(node).__name__] += 1
        pending.extend(next_node for next_node, _ in node.next_functions)
    return counts


def test_full_width_uses_the_parameters_and_a_slice_is_one_view_per_parameter() -> None:
    torch.manual_seed(0)
    model = supernet(DigitsValueNet())
    x = torch.randn(4, 1, 8, 8)
    ReplayMutator(model, {"width": 12, "kernel": 5, "op": "0"})  # the largest: nothing to cut
    nodes = backward_nodes(model(x))
    assert not nodes["SliceBackward0"] and not nodes["AsStridedBackward0"], nodes
    ReplayMutator(model, {"width": 8, "kernel": 3, "op": "0"})
    nodes = backward_nodes(model(x))
    # One strided view per cut parameter, however many dimensions are cut: the stem's kernel
    # (out channels and both kernel sizes), the op's kernel (in and out), the head's weight (in
    # features), the conv biases and the BN weight and bias.
    assert nodes["AsStridedBackward0"] == 7 and not nodes["SliceBackward0"], nodes


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@pytest.mark.parametrize("training", [True, False])
def test_slice_equals_fix_for_every_layer_kind(training: bool) -> None:
    torch.manual_seed(0)
    model = supernet(Layers1d())
    assert model.wide.weight.shape == (12, 6, 4)
    assert model.depthwise.weight.shape == (6, 1, 3)
    x = torch.randn(5, 2, 16)
    warm_up(model, x)
    for arch in sample_archs(model, 12):
        model.train(training)
        fixed = archsearch.fix(model, arch, inherit_weights=True)
        ReplayMutator(model, arch)
        torch.manual_seed(1)
        out = model(x)
        torch.manual_seed(1)
        assert torch.equal(out, fixed(x)), arch
        assert torch.equal(model.bn.running_var[: arch["width"]], fixed.bn.running_var)


def test_slice_conv3d_with_tuple_kernels() -> None:
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            width = nn.ValueChoice([2, 3], label="width")
            kernel = nn.ValueChoice([(1, 3, 3), (3, 3, 1)], label="kernel")
            self.conv = nn.Conv3d(1, width, kernel, padding=1)
            self.bn = nn.BatchNorm3d(width)
            self.pool = nn.AvgPool3d(nn.ValueChoice([1, 2], label="pool"))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.pool(self.bn(self.conv(x)))

    torch.manual_seed(0)
    model = supernet(Net())
    assert model.conv.weight.shape == (3, 1, 3, 3, 3)
    x = torch.randn(2, 1, 4, 4, 4)
    for arch in archsearch.search_space(model).grid():
        fixed = archsearch.fix(model, arch, inherit_weights=True)
        ReplayMutator(model, arch)
        assert torch.equal(model(x), fixed(x)), arch


def test_masks_changed_in_place_are_noticed() -> None:
    model = supernet(DigitsValueNet()).eval()
    space = archsearch.search_space(model)
    mutator = FixedMasks(model, masks_of(space, space.default(), torch.bool))
    x = torch.randn(2, 1, 8, 8)
    model(x)
    width = mutator.decision_for("width")
    width.zero_()
    width[2] = True
    arch = {**space.default(), "width": 12}
    assert torch.equal(model(x), archsearch.fix(model, arch, inherit_weights=True)(x))


# ----- what cannot share weights ------------------------------------------------------------


class Attention(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, nn.ValueChoice([4, 8], label="hidden"))
        self.attn = nn.MultiheadAttention(nn.ValueChoice([8, 16]), 2)


class Strided(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(1, 2, 3, stride=nn.ValueChoice([1, 2], label="step"))


class Valid(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(1, 2, nn.ValueChoice([3, 5], label="k"))


class BiasChoice(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3, bias=nn.ValueChoice([True, False], label="use_bias"))


@pytest.mark.parametrize(
    ("factory", "mode", "expected"),
    [
        (Attention, "slice", "GdasTrainer cannot share weights for MultiheadAttention argument "),
        (Strided, "mix", "GdasTrainer cannot share weights for Conv1d argument 'step'"),
        (Valid, "mix", "GdasTrainer cannot share weights for Conv1d argument 'k'"),
        (BiasChoice, "slice", "GdasTrainer cannot share weights for Conv2d argument 'use_bias'"),
    ],
)
def test_unsupported_arguments_raise_type_error(
    factory: type[nn.Module], mode: str, expected: str
) -> None:
    model = factory()
    shapes = [p.shape for p in model.parameters()]
    with pytest.raises(TypeError) as info:
        to_supernet(model, nn.walk(model), trainer="GdasTrainer", mode=mode)
    assert expected in str(info.value)
    if factory is Attention:
        assert "'attn.embed_dim'" in str(info.value)
    # Nothing was converted: the layers before the failing one are untouched too.
    assert [p.shape for p in model.parameters()] == shapes
    assert not any(getattr(m, "weight_sharing", False) for m in model.modules())


def test_stride_and_valid_convolutions_slice() -> None:
    for factory in (Strided, Valid):
        model = supernet(factory())
        for arch in archsearch.search_space(model).grid():
            fixed = archsearch.fix(model, arch, inherit_weights=True)
            ReplayMutator(model, arch)
            x = torch.randn(2, 1, 11)
            assert torch.equal(model.conv(x), fixed.conv(x))


def test_mutator_refuses_an_unconverted_model_and_a_supernet_copies() -> None:
    with pytest.raises(TypeError, match="weight sharing"):
        RandomMutator(DigitsValueNet())
    model = supernet(DigitsValueNet())
    RandomMutator(model, seed=0).reset()
    copied = copy.deepcopy(model)
    assert archsearch.search_space(copied) == archsearch.search_space(model)
    buffer = io.BytesIO()
    torch.save(model, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=False)
    assert type(loaded.conv).__name__ == "SharedConv2d"
    assert archsearch.search_space(loaded) == archsearch.search_space(model)


# ----- through a trainer --------------------------------------------------------------------


def test_random_trainer_searches_width_and_kernel(digits: Split, tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = DigitsValueNet()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    trainer = RandomTrainer(
        model,
        torch.nn.functional.cross_entropy,
        accuracy,
        optimizer,
        1,
        digits.train,
        digits.test,
        batch_size=64,
        log_dir=tmp_path,
        num_samples=3,
        seed=0,
    )
    before = model.conv.weight.detach().clone()
    trainer.train()
    assert not torch.equal(model.conv.weight, before)
    arch = trainer.export()
    assert arch["width"] in (4, 8, 12) and arch["kernel"] in (3, 5)
    # Not trainer.fixed_model(): RandomTrainer.export() samples anew on every call.
    fixed = archsearch.fix(model, arch, inherit_weights=True)
    assert fixed.conv.out_channels == arch["width"]
    assert fixed.conv.kernel_size == (arch["kernel"],) * 2
    x = torch.randn(2, 1, 8, 8)
    fixed.eval()
    model.eval()
    ReplayMutator(model, arch)
    assert torch.equal(fixed(x), model(x))
