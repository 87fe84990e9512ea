"""A new one-shot algorithm on the base trainer: FairNAS (examples/fairnas.py) end to end.

`FairNasTrainer` is a mutator plus a `train_step`; everything else comes from
`archsearch.oneshot.BaseOneShotTrainer`: the epoch loop, progress bars, validation, history.json
(and TensorBoard when installed), callbacks, and checkpoint/resume. This script trains for a few
epochs, stops, resumes from the checkpoint as a killed run would, exports the best path and
fine-tunes it with the inherited weights.

    python examples/03_custom_oneshot.py          # a couple of minutes on 2 CPU cores
    python examples/03_custom_oneshot.py --fast   # smoke run used by the test suite
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import torch
from fairnas import FairNasTrainer
from mnist1d_cnn import OpsCNN, accuracy, train
from torch.utils.data import Subset

from archsearch.evaluator import load_mnist1d
from archsearch.oneshot import ModelCheckpoint
from archsearch.oneshot import accuracy as batch_accuracy


def make_trainer(epochs: int, data: Subset, valid: Subset, folder: Path) -> FairNasTrainer:
    torch.manual_seed(0)
    model = OpsCNN()
    return FairNasTrainer(
        model,
        torch.nn.functional.cross_entropy,
        batch_accuracy,
        torch.optim.Adam(model.parameters(), lr=0.005),
        epochs,
        data,
        valid,
        batch_size=128,
        callbacks=[ModelCheckpoint(folder / "checkpoints")],
        log_dir=folder,
        seed=0,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="tiny run for tests")
    args = parser.parse_args()
    split = load_mnist1d()
    size = 512 if args.fast else 3000
    data, valid = Subset(split.train, range(size)), Subset(split.train, range(3000, 3500))
    epochs = 2 if args.fast else 6
    folder = Path(tempfile.mkdtemp(prefix="fairnas-"))

    first = make_trainer(epochs, data, valid, folder)
    first.num_epochs = epochs // 2  # stop half-way, as an interrupted run would
    first.train()
    print(f"stopped after epoch {first.epoch}; checkpoint in {folder / 'checkpoints'}")

    trainer = make_trainer(epochs, data, valid, folder)
    trainer.load_checkpoint(folder / "checkpoints" / "last.ckpt")
    trainer.train()
    for entry in trainer.history:
        print(f"  epoch {entry['epoch'] + 1}: supernet valid accuracy {entry['valid']['acc']:.3f}")

    arch = trainer.export(folder / "arch.json")
    print("exported:", json.dumps(arch))
    model = trainer.fixed_model()
    train(model, data, epochs=1 if args.fast else 5, lr=0.002)
    print(
        f"fine-tuned: {accuracy(model, split.test):.1f}% test; history in {folder / 'history.json'}"
    )


if __name__ == "__main__":
    main()
