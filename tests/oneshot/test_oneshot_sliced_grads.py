"""Sliced value choices under training: gradients, what the optimizer does to unused channels,
and the per-combination views kept between steps (`SharedLayer.cut`)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import torch
from oneshot_models import DigitsValueNet
from test_oneshot_sliced import Layers1d, supernet, warm_up

import archsearch
from archsearch.mutator import ReplayMutator

ARCH = {"width": 8, "kernel": 3, "op": "0"}


def fixed_blocks(model: torch.nn.Module, fixed: torch.nn.Module) -> dict[str, tuple[slice, ...]]:
    """For every supernet parameter, the block the fixed subnet inherited (as copy_overlap
    cuts it: leading channels, centred kernels)."""
    fixed_params = {fixed_name(n): p for n, p in fixed.named_parameters()}
    blocks = {}
    for name, param in model.named_parameters():
        small = fixed_params.get(name)
        if small is None:
            continue
        block = []
        for d, (full, n) in enumerate(zip(param.shape, small.shape, strict=True)):
            start = (full - n) // 2 if param.dim() >= 3 and d >= 2 else 0
            block.append(slice(start, start + n))
        blocks[name] = tuple(block)
    return blocks


def fixed_name(name: str) -> str:
    """The supernet's name of a fixed subnet's parameter (DigitsValueNet's LayerChoice "op" is
    replaced by its chosen candidate, "0")."""
    return "op.0." + name[3:] if name.startswith("op.") else name


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
def test_gradients_of_the_active_slice_equal_the_fixed_subnets() -> None:
    torch.manual_seed(0)
    model = supernet(Layers1d())
    x = torch.randn(5, 2, 16)
    warm_up(model, x)
    arch = {"width": 4, "kernel": 3, "dilation": 2, "even": 2, "pool": 2, "drop": 0.0, "out": 3}
    fixed = archsearch.fix(model, arch, inherit_weights=True)
    ReplayMutator(model, arch)
    for _ in range(2):  # the second step runs on the views kept from the first
        model.zero_grad()
        fixed.zero_grad()
        model(x).square().sum().backward()
        fixed(x).square().sum().backward()
        small = dict(fixed.named_parameters())
        for name, block in fixed_blocks(model, fixed).items():
            grad = dict(model.named_parameters())[name].grad
            assert grad is not None and small[name].grad is not None, name
            assert torch.allclose(grad[block], small[name].grad, atol=1e-6), name
            outside = grad.clone()
            outside[block] = 0
            assert not outside.any(), name  # unused channels: a zero gradient


def test_unused_channels_are_updated_as_if_their_gradient_were_zero() -> None:
    """The documented optimizer semantics: the supernet's parameter gets a full-size gradient
    that is zero outside the chosen slice, so SGD's weight decay and momentum (and any other
    optimizer's rule for a zero gradient) apply to unused channels, as with NNI's slicing."""
    torch.manual_seed(0)
    model = supernet(DigitsValueNet())
    reference = {n: p.detach().clone() for n, p in model.named_parameters()}
    ref_params = [torch.nn.Parameter(t.clone()) for t in reference.values()]
    settings: dict[str, Any] = {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.01}
    optimizer = torch.optim.SGD(model.parameters(), **settings)
    ref_optimizer = torch.optim.SGD(ref_params, **settings)
    x = torch.randn(4, 1, 8, 8)
    for arch in (ARCH, {**ARCH, "width": 4}, ARCH):
        fixed = archsearch.fix(model, arch, inherit_weights=True)
        blocks = fixed_blocks(model, fixed)
        ReplayMutator(model, arch)
        optimizer.zero_grad()
        model(x).square().mean().backward()
        fixed(x).square().mean().backward()
        small = {fixed_name(n): p for n, p in fixed.named_parameters()}
        for (name, param), ref in zip(model.named_parameters(), ref_params, strict=True):
            if param.grad is None:  # the unchosen LayerChoice candidate: skipped entirely
                ref.grad = None
                continue
            ref.grad = torch.zeros_like(ref)
            ref.grad[blocks[name]] = small[name].grad
        optimizer.step()
        ref_optimizer.step()
        for (name, param), ref in zip(model.named_parameters(), ref_params, strict=True):
            assert torch.allclose(param, ref, atol=1e-6), name
    decayed = model.conv.weight[8:]  # never chosen: moved only by weight decay and momentum
    assert not torch.equal(decayed, reference["conv.weight"][8:])


def test_views_are_kept_between_steps_and_rebuilt_when_tensors_change() -> None:
    torch.manual_seed(0)
    model = supernet(DigitsValueNet())
    ReplayMutator(model, ARCH)
    x = torch.randn(2, 1, 8, 8)
    first = model.conv.cut((1, 0))
    assert first[0] is model.conv.cut((1, 0))[0]  # kept
    with torch.no_grad():
        assert model.conv.cut((1, 0))[0] is not first[0]  # one set per grad mode
    with torch.inference_mode():
        model(x)  # inference views are not kept
    assert first[0] is model.conv.cut((1, 0))[0]

    model.double()  # new data for every parameter: the views are cut again
    y = model(x.double())
    fixed = archsearch.fix(model, ARCH, inherit_weights=True)
    assert torch.equal(y, fixed(x.double()))
    model.conv.weight.requires_grad_(False)
    model(x.double()).sum().backward()
    assert model.conv.weight.grad is None and model.conv.bias.grad is not None

    copied = copy.deepcopy(model)  # kept views are not copied: the copy cuts its own
    ReplayMutator(copied, ARCH)
    with torch.no_grad():
        copied.conv.weight.fill_(1.0)
    assert not torch.equal(copied(x.double()), model(x.double()))
    assert copied.conv.cut((1, 0))[0]._base is copied.conv.weight
