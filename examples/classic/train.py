"""A classic-mode trial script: train one architecture of `model.Net` on MNIST-1D.

The search compares architectures by their validation accuracy (the last 500 training
sequences, never trained on); the test accuracy is reported beside it, never used to choose.

    python train.py                    # standalone: the first candidate of every choice
    archsearch run config.yml          # a search: one run of this script per trial

Inside an experiment `get_and_apply_next_architecture` fixes the model to the trial's
architecture and the `report_*` calls reach the experiment; standalone they only log.
"""

from __future__ import annotations

import argparse

import torch
from model import Net
from torch.utils.data import DataLoader, Dataset, Subset

from archsearch.classic import (
    get_and_apply_next_architecture,
    get_current_parameter,
    report_final_result,
    report_intermediate_result,
)
from archsearch.evaluator import load_mnist1d


@torch.no_grad()
def accuracy(model: torch.nn.Module, data: Dataset) -> float:
    """Top-1 accuracy (a fraction)."""
    model.eval()
    correct = total = 0
    for x, y in DataLoader(data, batch_size=500):
        correct += int((model(x).argmax(1) == y).sum())
        total += len(y)
    return correct / total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    model = get_and_apply_next_architecture(Net())
    print("architecture:", {k: v["_value"] for k, v in get_current_parameter().items()})
    data = load_mnist1d()
    n = len(data.train)  # type: ignore[arg-type]
    train, valid = Subset(data.train, range(n - 500)), Subset(data.train, range(n - 500, n))
    loader = DataLoader(train, batch_size=128, shuffle=True)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    for epoch in range(args.epochs):
        model.train()
        for x, y in loader:
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(model(x), y).backward()
            optimizer.step()
        acc = accuracy(model, valid)
        report_intermediate_result(acc)
        print(f"epoch {epoch + 1}: validation accuracy {acc:.3f}", flush=True)
    test = accuracy(model, data.test)
    report_final_result({"default": acc, "test": test})
    print(f"accuracy: {acc:.3f} validation, {test:.3f} test")


if __name__ == "__main__":
    main()
