"""One-shot search on MNIST-1D: DARTS and SPOS on the example CNN space, retrained from scratch.

Each algorithm searches `Mnist1dCNN` (examples/mnist1d_cnn.py: width, stem kernel, depth, five
ops and a skip choice per block, head size — value choices included, shared inside one maximal
layer) on 3,500 training sequences, validating on the other 500. The exported architecture is then
trained from scratch on all 4,000 and tested on the 1,000 test sequences, next to five random
architectures of the same space trained the same way.

    python examples/04_oneshot_search.py            # DARTS + SPOS + 5 random architectures
    python examples/04_oneshot_search.py --algorithms spos
    python examples/04_oneshot_search.py --fast          # smoke run used by the test suite
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

import torch
from mnist1d_cnn import Mnist1dCNN, accuracy, train
from torch.utils.data import Dataset, Subset

import archsearch
from archsearch.evaluator import load_mnist1d
from archsearch.experiment import RecordToStorage
from archsearch.oneshot import BaseOneShotTrainer, DartsTrainer, SposTrainer
from archsearch.oneshot import accuracy as batch_accuracy


def search(
    algorithm: str, data: Dataset[Any], valid: Dataset[Any], fast: bool
) -> BaseOneShotTrainer[Any]:
    """Build and run one search; returns the trained trainer."""
    torch.manual_seed(0)
    model = Mnist1dCNN()
    loss = torch.nn.functional.cross_entropy
    # Records the run in the experiment store, so `archsearch view` shows it beside
    # multi-trial experiments (probabilities per epoch, training curves, the export).
    record = [RecordToStorage(name=f"{algorithm} on MNIST-1D")]
    if algorithm == "darts":
        optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=3e-4)
        trainer: BaseOneShotTrainer[Any] = DartsTrainer(
            model,
            loss,
            batch_accuracy,
            optimizer,
            1 if fast else 10,
            data,
            valid,
            batch_size=128,
            arc_learning_rate=3e-3,
            callbacks=record,
        )
    else:
        optimizer = torch.optim.Adam(model.parameters(), lr=0.005)
        trainer = SposTrainer(
            model,
            loss,
            batch_accuracy,
            optimizer,
            1 if fast else 20,
            data,
            valid,
            batch_size=128,
            seed=0,
            population_size=4 if fast else 20,
            num_generations=1 if fast else 6,
            bn_recalibration_batches=2 if fast else 8,
            callbacks=record,
        )
    trainer.train()
    return trainer


def retrain(arch: dict[str, Any], data: Dataset[Any], test: Dataset[Any], epochs: int) -> float:
    """Train `arch` from scratch and return its test accuracy (%)."""
    torch.manual_seed(1)
    model = archsearch.fix(Mnist1dCNN(), arch)
    train(model, data, epochs=epochs, progress=False)
    return accuracy(model, test)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--algorithms", nargs="+", default=["darts", "spos"], choices=["darts", "spos"]
    )
    parser.add_argument("--random", type=int, default=5, help="random architectures to compare")
    parser.add_argument("--fast", action="store_true", help="tiny run for tests")
    args = parser.parse_args()
    split = load_mnist1d()
    size = 768 if args.fast else 3500
    data, valid = Subset(split.train, range(size)), Subset(split.train, range(3500, 4000))
    full = Subset(split.train, range(1024)) if args.fast else split.train
    epochs = 1 if args.fast else 15
    space = archsearch.search_space(Mnist1dCNN())
    print(f"space: {space.size():,} architectures; retraining each for {epochs} epochs")

    results = []
    for algorithm in args.algorithms:
        start = time.perf_counter()
        trainer = search(algorithm, data, valid, args.fast)
        arch = trainer.export()
        seconds = time.perf_counter() - start
        acc = retrain(arch, full, split.test, epochs)
        results.append(
            {"algorithm": algorithm, "search_s": round(seconds, 1), "test_acc": acc, "arch": arch}
        )
        print(f"{algorithm}: searched {seconds:.0f} s; retrained from scratch: {acc:.1f}% test")
        print(f"  architecture: {json.dumps(arch)}")
        recorded = next(c for c in trainer.callbacks if isinstance(c, RecordToStorage))
        print(f"  look at the search: archsearch view {recorded.experiment_id}")

    randoms = [
        retrain(space.sample(seed), full, split.test, epochs)
        for seed in range(1 if args.fast else args.random)
    ]
    mean = statistics.mean(randoms)
    spread = statistics.pstdev(randoms)
    print(f"random ({len(randoms)} architectures): {mean:.1f}% ± {spread:.1f} test")
    for r in results:
        print(json.dumps({"figure": "search_quality", **r, "random_mean_acc": round(mean, 2)}))


if __name__ == "__main__":
    main()
