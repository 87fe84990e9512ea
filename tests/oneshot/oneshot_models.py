"""Small search spaces for the one-shot tests (a module of its own, not conftest, so that
pickling them names a module no other test folder shadows)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch.nn import functional as F
from torch.utils.data import Subset

import archsearch.nn as nn
from archsearch.evaluator import Split
from archsearch.oneshot import accuracy


class DigitsNet(nn.Module):
    """Digits (1×8×8): a conv LayerChoice, a second LayerChoice with identity, a skip choice."""

    def __init__(self, width: int = 8) -> None:
        super().__init__()
        self.stem = nn.Conv2d(1, width, 3, padding=1)
        self.op1 = nn.LayerChoice(
            {
                "conv3": nn.Conv2d(width, width, 3, padding=1),
                "conv5": nn.Conv2d(width, width, 5, padding=2),
                "pool": nn.MaxPool2d(3, stride=1, padding=1),
            }
        )
        self.op2 = nn.LayerChoice({"conv1": nn.Conv2d(width, width, 1), "identity": nn.Identity()})
        self.skip = nn.InputChoice(n_candidates=2, n_chosen=1)
        self.head = nn.Linear(width, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.stem(x))
        y = torch.relu(self.op1(x))
        z = self.op2(y)
        out = self.skip([z, z + x])
        return self.head(out.mean((2, 3)))


class DigitsValueNet(nn.Module):
    """Digits with value choices as layer arguments: width and kernel size."""

    def __init__(self) -> None:
        super().__init__()
        width = nn.ValueChoice([4, 8, 12], label="width")
        kernel = nn.ValueChoice([3, 5], label="kernel")
        self.conv = nn.Conv2d(1, width, kernel, padding=kernel // 2)
        self.bn = nn.BatchNorm2d(width)
        self.op = nn.LayerChoice([nn.Conv2d(width, width, 3, padding=1), nn.Identity()])
        self.head = nn.Linear(width, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.bn(self.conv(x)))
        x = self.op(x)
        return self.head(x.mean((2, 3)))


class DigitsLayerNet(nn.Module):
    """Digits (1×8×8) with LayerChoices only (ProxylessNAS searches nothing else)."""

    def __init__(self, width: int = 8) -> None:
        super().__init__()
        self.stem = nn.Conv2d(1, width, 3, padding=1)
        self.op1 = nn.LayerChoice(
            {
                "conv3": nn.Conv2d(width, width, 3, padding=1),
                "conv5": nn.Conv2d(width, width, 5, padding=2),
                "pool": nn.MaxPool2d(3, stride=1, padding=1),
            }
        )
        self.bn = nn.BatchNorm2d(width)
        self.op2 = nn.LayerChoice({"conv1": nn.Conv2d(width, width, 1), "identity": nn.Identity()})
        self.head = nn.Linear(width, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.stem(x))
        x = torch.relu(self.bn(self.op1(x)))
        return self.head(self.op2(x).mean((2, 3)))


def small_digits_trainer(
    trainer_class: type[Any], model: torch.nn.Module, digits: Split, log_dir: Path, **settings: Any
) -> Any:
    """`trainer_class` for one epoch on 64 training and 32 validation digits (the trainer tests
    that only need a search to run end to end)."""
    return trainer_class(
        model=model,
        loss=F.cross_entropy,
        metrics=accuracy,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.05),
        num_epochs=1,
        dataset_train=Subset(digits.train, range(64)),
        dataset_valid=Subset(digits.test, range(32)),
        batch_size=32,
        device="cpu",
        log_dir=log_dir,
        **settings,
    )
