"""The example CNN search space for MNIST-1D, and a small training loop used by the examples.

Written the way a user writes a model: ordinary PyTorch with `import archsearch.nn as nn`, where
some layers, inputs and sizes are choices.
"""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

import archsearch.nn as nn


def conv_bn_relu(channels: nn.ChoiceExpression | int, kernel: int, dilation: int = 1) -> nn.Module:
    """A same-length Conv1d → BatchNorm → ReLU."""
    padding = dilation * (kernel - 1) // 2
    return nn.Sequential(
        nn.Conv1d(channels, channels, kernel, padding=padding, dilation=dilation, bias=False),
        nn.BatchNorm1d(channels),
        nn.ReLU(),
    )


class Block(nn.Module):
    """One searchable block: an operation choice and an optional residual connection."""

    def __init__(self, width: nn.ValueChoice) -> None:
        super().__init__()
        self.op = nn.LayerChoice(
            {
                "conv3": conv_bn_relu(width, 3),
                "conv5": conv_bn_relu(width, 5),
                "conv7": conv_bn_relu(width, 7),
                "dilconv3": conv_bn_relu(width, 3, dilation=2),
                "maxpool3": nn.MaxPool1d(3, stride=1, padding=1),
            }
        )
        self.skip = nn.InputChoice(n_candidates=2, n_chosen=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.op(x)
        return self.skip([out, out + x])


class Mnist1dCNN(nn.Module):
    """A space of 1-D CNNs: width, stem kernel, 1–3 blocks (each an op + skip choice), head size."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        width = nn.ValueChoice([16, 32, 64], label="width")
        kernel = nn.ValueChoice([3, 5, 7], label="stem_kernel")
        self.stem = nn.Sequential(
            nn.Conv1d(1, width, kernel, padding=kernel // 2, bias=False),
            nn.BatchNorm1d(width),
            nn.ReLU(),
        )
        self.blocks = nn.Repeat(lambda i: Block(width), (1, 3), label="depth")
        self.pool = nn.AdaptiveAvgPool1d(8)
        hidden = nn.ValueChoice([64, 128], label="hidden")
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(width * 8, hidden),
            nn.ReLU(),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.pool(self.blocks(self.stem(x))))


class OpsCNN(nn.Module):
    """A fixed-width space of three op choices (64 architectures): plain mutators switch layers,
    not layer sizes, so the examples that drive mutators by hand use this one."""

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv1d(1, width, 5, padding=2), nn.ReLU())
        self.ops = nn.ModuleList(
            nn.LayerChoice(
                {
                    "conv3": conv_bn_relu(width, 3),
                    "conv5": conv_bn_relu(width, 5),
                    "dilconv3": conv_bn_relu(width, 3, dilation=2),
                    "identity": nn.Identity(),
                },
                label=f"op{i}",
            )
            for i in range(3)
        )
        self.head = nn.Sequential(nn.AdaptiveAvgPool1d(8), nn.Flatten(), nn.Linear(width * 8, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for op in self.ops:
            x = op(x)
        return self.head(x)


def train(
    model: torch.nn.Module,
    data: Dataset,
    *,
    epochs: int,
    lr: float = 0.01,
    batch_size: int = 128,
    seed: int = 0,
    progress: bool = True,
) -> None:
    """Plain supervised training with Adam and a cosine schedule."""
    torch.manual_seed(seed)
    loader = DataLoader(data, batch_size=batch_size, shuffle=True)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs * len(loader))
    model.train()
    bar = tqdm(range(epochs), desc="train", unit="epoch", disable=not progress)
    for _ in bar:
        for x, y in loader:
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
            schedule.step()
        bar.set_postfix(loss=f"{loss.item():.3f}")


@torch.no_grad()
def accuracy(model: torch.nn.Module, data: Dataset, batch_size: int = 500) -> float:
    """Top-1 accuracy in percent."""
    model.eval()
    correct = total = 0
    for x, y in DataLoader(data, batch_size=batch_size):
        correct += int((model(x).argmax(1) == y).sum())
        total += len(y)
    return 100.0 * correct / total


def train_and_evaluate(
    model: torch.nn.Module,
    *,
    epochs: int = 3,
    train_size: int = 2000,
    lr: float = 0.01,
    batch_size: int = 128,
    seed: int = 0,
) -> dict[str, float]:
    """A multi-trial evaluation of one fixed architecture: train on `train_size` MNIST-1D
    training sequences, report the validation accuracy (the last 500 training sequences, never
    trained on) after every epoch, and return it with the test accuracy beside it."""
    from torch.utils.data import Subset

    import archsearch
    from archsearch.evaluator import load_mnist1d

    data = load_mnist1d()
    n = len(data.train)  # type: ignore[arg-type]
    train_part = Subset(data.train, range(min(train_size, n - 500)))
    valid_part = Subset(data.train, range(n - 500, n))
    torch.manual_seed(seed)
    loader = DataLoader(train_part, batch_size=batch_size, shuffle=True)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs * len(loader))
    valid = 0.0
    for epoch in range(epochs):
        model.train()
        for x, y in loader:
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(model(x), y).backward()
            optimizer.step()
            schedule.step()
        valid = accuracy(model, valid_part)
        archsearch.report_intermediate_result(valid, step=epoch)
    return {"default": valid, "test": accuracy(model, data.test)}
