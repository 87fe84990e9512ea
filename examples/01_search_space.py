"""Define a search space for MNIST-1D, look at it, sample and fix architectures, train one.

python examples/01_search_space.py          # the demo (about a minute on 2 CPU cores)
python examples/01_search_space.py --fast   # smoke run used by the test suite
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import torch
from mnist1d_cnn import Mnist1dCNN, accuracy, train

import archsearch
from archsearch.evaluator import load_mnist1d


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="tiny run for tests")
    parser.add_argument("--epochs", type=int, default=None)
    args = parser.parse_args()
    epochs = args.epochs or (1 if args.fast else 15)

    # 1. The model space is ordinary PyTorch code; search_space() reads its choices.
    space_model = Mnist1dCNN()
    space = archsearch.search_space(space_model)
    print("Search space of Mnist1dCNN:")
    print(space.describe())

    # 2. Architectures are plain dicts; fix() turns each into a plain PyTorch model.
    print("\nThree sampled architectures:")
    for seed in range(3):
        arch = space.sample(seed)
        fixed = archsearch.fix(space_model, arch)
        params = sum(p.numel() for p in fixed.parameters())
        print(f"  seed {seed}: {params:>7,} parameters  {json.dumps(arch)}")

    # 3. Train one architecture briefly and save it as JSON.
    split = load_mnist1d()
    train_data = split.train
    if args.fast:
        train_data = torch.utils.data.Subset(split.train, range(512))
    arch = {
        **space.default(),
        "width": 32,
        "depth": 2,
        "blocks.0.op": "conv5",
        "blocks.1.op": "conv3",
    }
    arch = space.validate(arch)
    model = archsearch.fix(space_model, arch)
    print(f"\nTraining {json.dumps(arch)} for {epochs} epochs:")
    print(model)
    train(model, train_data, epochs=epochs)
    print(f"test accuracy: {accuracy(model, split.test):.1f}%")

    path = Path(tempfile.mkdtemp()) / "arch.json"
    path.write_text(json.dumps(arch, indent=2))
    again = archsearch.apply_fixed_architecture(Mnist1dCNN(), path)
    same = [tuple(p.shape) for p in again.parameters()] == [
        tuple(p.shape) for p in model.parameters()
    ]
    print(f"architecture saved to {path}; reloaded with apply_fixed_architecture: {same}")


if __name__ == "__main__":
    main()
