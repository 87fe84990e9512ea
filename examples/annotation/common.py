"""What the annotation examples share: digits data, a training epoch, accuracy, and `OPS`,
the registry that builds a functional script's layers on first use.

The annotated scripts are written in the functional style of seed 004: each layer is a
function call on tensors. `OPS.next(build)` returns the i-th module of the forward pass,
building it (lazily sized) the first time, so only the chosen candidates get weights.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import torch
from sklearn.datasets import load_digits
from torch import nn

Batch = tuple[torch.Tensor, torch.Tensor]


class Ops(nn.Module):
    """The modules of a functional forward pass, in call order."""

    def __init__(self) -> None:
        super().__init__()
        self.layers = nn.ModuleList()
        self.position = 0

    def begin(self) -> None:
        """Start a forward pass."""
        self.position = 0

    def next(self, build: Callable[[], nn.Module]) -> nn.Module:
        """The next module of this forward pass (built by `build` on the first pass)."""
        if self.position == len(self.layers):
            self.layers.append(build())
        self.position += 1
        return self.layers[self.position - 1]


OPS = Ops()


def merge(inputs: list[list[torch.Tensor]]) -> torch.Tensor:
    """A layer's inputs `[fixed, chosen]` concatenated along the channels."""
    return torch.cat([*inputs[0], *inputs[1]], dim=1)


def arguments() -> argparse.Namespace:
    """--epochs, --lr and --fast (a few hundred images, one epoch: for tests)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--fast", action="store_true")
    args = parser.parse_args()
    if args.fast:
        args.epochs = 1
    torch.manual_seed(0)
    torch.set_num_threads(1)  # tiny tensors: threads cost more than they give
    return args


def digits(fast: bool) -> tuple[Batch, Batch]:
    """sklearn's 8x8 digits as 1-channel images: (train, test)."""
    x, y = load_digits(return_X_y=True)
    images = torch.tensor(x, dtype=torch.float32).reshape(-1, 1, 8, 8) / 16
    labels = torch.tensor(y)
    train = 300 if fast else 1400
    return (images[:train], labels[:train]), (images[1400:], labels[1400:])


def build(
    net: Callable[[torch.Tensor], torch.Tensor], data: Batch, lr: float
) -> torch.optim.Optimizer:
    """Run one forward pass so the chosen layers exist, then an optimizer over them."""
    with torch.no_grad():
        net(data[0][:2])
    return torch.optim.Adam(OPS.parameters(), lr=lr)


def train_epoch(
    net: Callable[[torch.Tensor], torch.Tensor], optimizer: torch.optim.Optimizer, data: Batch
) -> None:
    """One epoch of minibatch training."""
    OPS.train()
    order = torch.randperm(len(data[1]))
    for start in range(0, len(order), 50):
        batch = order[start : start + 50]
        loss = nn.functional.cross_entropy(net(data[0][batch]), data[1][batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


@torch.no_grad()
def accuracy(net: Callable[[torch.Tensor], torch.Tensor], data: Batch) -> float:
    """Top-1 accuracy (a fraction)."""
    OPS.eval()
    return float((net(data[0]).argmax(1) == data[1]).float().mean())
