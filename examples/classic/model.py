"""The model space of the classic-mode example: a small 1-D CNN for MNIST-1D with four choices.

`archsearch ss-gen model:Net -o search_space.json` writes its search space for `archsearch run`.
"""

from __future__ import annotations

import torch

import archsearch.nn as nn


def conv(width: nn.ValueChoice, kernel: int) -> nn.Module:
    """A same-length Conv1d → BatchNorm → ReLU."""
    return nn.Sequential(
        nn.Conv1d(width, width, kernel, padding=kernel // 2, bias=False),
        nn.BatchNorm1d(width),
        nn.ReLU(),
    )


class Net(nn.Module):
    """Stem width, stem activation, one block (conv3, conv5 or nothing) and a residual choice."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        width = nn.ValueChoice([16, 32], label="width")
        self.stem = nn.Conv1d(1, width, 5, padding=2)
        self.act = nn.LayerChoice({"relu": nn.ReLU(), "tanh": nn.Tanh()}, label="act")
        self.block = nn.LayerChoice(
            {"conv3": conv(width, 3), "conv5": conv(width, 5), "none": nn.Identity()},
            label="block",
        )
        self.skip = nn.InputChoice(n_candidates=2, n_chosen=1, label="skip")
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool1d(8), nn.Flatten(), nn.Linear(width * 8, num_classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act(self.stem(x))
        out = self.block(x)
        return self.head(self.skip([out, out + x]))  # type: ignore[no-any-return]
