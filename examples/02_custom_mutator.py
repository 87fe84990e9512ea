"""The v1 mutator API: train a weight-sharing supernet with RandomMutator, then pick a path.

A mutator decides every choice while the model runs. Here RandomMutator samples one path per
training step (uniform single-path training), and a small custom Mutator replays a given
architecture so candidate paths can be scored with the shared weights. The best path is exported
as JSON and fixed into a plain PyTorch model that keeps the supernet's weights.

    python examples/02_custom_mutator.py          # about a minute on 2 CPU cores
    python examples/02_custom_mutator.py --fast   # smoke run used by the test suite
"""

from __future__ import annotations

import argparse
import itertools
import json
from collections.abc import Mapping
from typing import Any

import torch
from mnist1d_cnn import accuracy, conv_bn_relu, train
from torch.utils.data import DataLoader, Subset
from tqdm import tqdm

import archsearch
import archsearch.nn as nn
from archsearch.evaluator import load_mnist1d
from archsearch.mutator import Mutator, RandomMutator


class SupernetCNN(nn.Module):
    """Three searchable blocks at a fixed width (mutators switch layers, not layer sizes)."""

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


class ReplayMutator(Mutator):
    """A mutator that always runs one given architecture (its masks come from the space)."""

    def __init__(self, model: torch.nn.Module, arch: Mapping[str, Any]) -> None:
        super().__init__(model)
        arch = self.search_space.validate(arch)
        self.masks = {label: dim.mask(arch[label]) for label, dim in self.search_space.items()}

    def sample_search(self) -> dict[str, list[bool]]:
        return self.masks

    def sample_final(self) -> dict[str, list[bool]]:
        return self.masks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="tiny run for tests")
    args = parser.parse_args()
    steps, finetune = (20, 1) if args.fast else (600, 5)

    split = load_mnist1d()
    train_data, valid_data = (
        Subset(split.train, range(3000)),
        Subset(split.train, range(3000, 4000)),
    )
    supernet = SupernetCNN()
    print(archsearch.search_space(supernet).describe())

    # Uniform single-path training: a new random path every step.
    mutator = RandomMutator(supernet, seed=0)
    optimizer = torch.optim.Adam(supernet.parameters(), lr=0.005)
    loader = DataLoader(train_data, batch_size=128, shuffle=True)
    batches = iter(())
    supernet.train()
    for _ in tqdm(range(steps), desc="supernet", unit="step"):
        x, y = next(batches, (None, None))
        if x is None:
            batches = iter(loader)
            x, y = next(batches)
        mutator.reset()
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(supernet(x), y).backward()
        optimizer.step()
    mutator.unbind()

    # Score every path with the shared weights, replaying each with a custom mutator.
    space = archsearch.search_space(supernet)
    scored = []
    for arch in itertools.islice(space.grid(), 4 if args.fast else None):
        replay = ReplayMutator(supernet, arch)
        replay.reset()
        scored.append((accuracy(supernet, valid_data), replay.export()))
        replay.unbind()
    scored.sort(key=lambda item: -item[0])
    for acc, arch in scored[:3]:
        print(f"  supernet valid accuracy {acc:5.1f}%  {json.dumps(arch)}")

    best = scored[0][1]
    model = archsearch.fix(supernet, best, inherit_weights=True)
    print(f"inherited weights, before fine-tuning: {accuracy(model, split.test):.1f}% test")
    train(model, train_data, epochs=finetune, lr=0.002)
    print(f"after {finetune} epochs of fine-tuning: {accuracy(model, split.test):.1f}% test")
    print("exported architecture:", json.dumps(best))


if __name__ == "__main__":
    main()
