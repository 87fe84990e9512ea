"""The v1 mutator API by hand: a custom mutator trains a supernet, ReplayMutator scores paths.

A mutator decides every choice while the model runs. Here `FairMutator` (examples/fairnas.py,
about 40 lines) hands out one path per forward so that every candidate is trained equally often,
in an explicit training loop written out below. Then `archsearch.mutator.ReplayMutator` replays
each of the 64 architectures on the shared weights to score it, and the best one is fixed into a
plain PyTorch model that keeps the supernet's weights and is fine-tuned.

    python examples/02_custom_mutator.py          # about a minute on 2 CPU cores
    python examples/02_custom_mutator.py --fast   # smoke run used by the test suite
"""

from __future__ import annotations

import argparse
import itertools
import json

import torch
from fairnas import FairMutator
from mnist1d_cnn import OpsCNN, accuracy, train
from torch.utils.data import DataLoader, Subset
from tqdm import tqdm

import archsearch
from archsearch.evaluator import load_mnist1d
from archsearch.mutator import ReplayMutator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="tiny run for tests")
    args = parser.parse_args()
    steps, finetune = (20, 1) if args.fast else (150, 5)

    split = load_mnist1d()
    train_data, valid_data = (
        Subset(split.train, range(3000)),
        Subset(split.train, range(3000, 4000)),
    )
    supernet = OpsCNN()
    print(archsearch.search_space(supernet).describe())

    # Strict fairness: each step runs one group of paths covering every candidate once, and
    # applies the accumulated gradient.
    mutator = FairMutator(supernet, seed=0)
    optimizer = torch.optim.Adam(supernet.parameters(), lr=0.005)
    batches = itertools.cycle(DataLoader(train_data, batch_size=128, shuffle=True))
    supernet.train()
    for _ in tqdm(range(steps), desc="supernet", unit="step"):
        x, y = next(batches)
        optimizer.zero_grad()
        for _ in range(mutator.group_size):
            mutator.reset()
            torch.nn.functional.cross_entropy(supernet(x), y).backward()
        optimizer.step()
    mutator.unbind()

    # Score every path with the shared weights by replaying it.
    space = archsearch.search_space(supernet)
    scored = []
    for arch in itertools.islice(space.grid(), 4 if args.fast else None):
        replay = ReplayMutator(supernet, arch)
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
