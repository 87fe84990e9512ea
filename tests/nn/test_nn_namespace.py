"""`import archsearch.nn as nn` is a drop-in replacement for `torch.nn`."""

from __future__ import annotations

import pytest
import torch

import archsearch.nn as nn

PUBLIC_TORCH_NAMES = sorted(n for n in dir(torch.nn) if not n.startswith("_"))


def test_every_public_torch_nn_name_is_available() -> None:
    missing = [name for name in PUBLIC_TORCH_NAMES if not hasattr(nn, name)]
    assert missing == []


@pytest.mark.parametrize("name", PUBLIC_TORCH_NAMES)
def test_each_name_is_torch_object_or_a_drop_in_subclass(name: str) -> None:
    ours, theirs = getattr(nn, name), getattr(torch.nn, name)
    if ours is theirs:
        return
    # Only layers that accept value choices may differ, and then only as subclasses.
    assert isinstance(ours, type) and isinstance(theirs, type)
    assert issubclass(ours, theirs)
    assert ours.__name__ == theirs.__name__


def test_plain_names_are_torch_objects() -> None:
    assert nn.ReLU is torch.nn.ReLU
    assert nn.Module is torch.nn.Module
    assert nn.Sequential is torch.nn.Sequential
    assert nn.ModuleList is torch.nn.ModuleList
    assert nn.Parameter is torch.nn.Parameter
    assert nn.functional is torch.nn.functional
    assert nn.init is torch.nn.init


def test_value_choice_layers_subclass_their_torch_namesakes() -> None:
    for name in ("Linear", "Conv1d", "Conv2d", "BatchNorm2d", "Dropout", "LSTM", "Embedding"):
        assert issubclass(getattr(nn, name), getattr(torch.nn, name)), name
    assert nn.Linear is not torch.nn.Linear


def test_layer_without_choices_behaves_like_torch_layer() -> None:
    torch.manual_seed(0)
    ours = nn.Linear(5, 3)
    theirs = torch.nn.Linear(5, 3)
    assert isinstance(ours, torch.nn.Linear)
    assert ours.state_dict().keys() == theirs.state_dict().keys()
    theirs.load_state_dict(ours.state_dict(), strict=True)
    x = torch.randn(4, 5)
    torch.testing.assert_close(ours(x), theirs(x))
    assert repr(ours) == repr(theirs)


def test_conv_without_choices_matches_torch_conv() -> None:
    ours = nn.Conv2d(3, 4, kernel_size=3, padding=1, bias=False)
    theirs = torch.nn.Conv2d(3, 4, kernel_size=3, padding=1, bias=False)
    theirs.load_state_dict(ours.state_dict(), strict=True)
    x = torch.randn(2, 3, 6, 6)
    torch.testing.assert_close(ours(x), theirs(x))


def test_choice_primitives_are_exported() -> None:
    for name in ("LayerChoice", "InputChoice", "ValueChoice", "Repeat", "Cell", "MutableScope"):
        assert hasattr(nn, name), name
    assert callable(nn.basic_unit)
    assert callable(nn.fix)
    assert callable(nn.apply_fixed_architecture)
