"""Search hyper-parameters with the architecture: learning rate, batch size and epochs of the
Lightning evaluator are value choices, sampled by the strategy like the model's hidden size.

python examples/07_evaluator_hparams.py          # 16 trials on digits, 2 workers (~1 minute)
python examples/07_evaluator_hparams.py --fast   # smoke run used by the test suite
"""

from __future__ import annotations

import argparse

import torch
from torch.utils.data import DataLoader

import archsearch
import archsearch.nn as nn
from archsearch.evaluator import Classification, load_digits, serialize
from archsearch.experiment import Experiment, ExperimentConfig
from archsearch.strategy import GridSearch, Random


class DigitsMLP(nn.Module):
    """8×8 digits → 10 classes through one hidden layer of a chosen width."""

    def __init__(self) -> None:
        super().__init__()
        hidden = nn.ValueChoice([32, 64], label="hidden")
        self.net = nn.Sequential(
            nn.Flatten(), nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, 10)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.net(x)
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="tiny run for tests")
    parser.add_argument("--storage", default=None, help="database (default ~/.archsearch)")
    args = parser.parse_args()

    split = load_digits()
    evaluator = Classification(
        # A recipe, so the batch size can be a choice: the loader is built in the trial.
        serialize(
            DataLoader,
            split.train,
            batch_size=nn.ValueChoice([32, 128], label="batch_size"),
            shuffle=True,
        ),
        DataLoader(split.test, batch_size=256),
        learning_rate=nn.ValueChoice([3e-3, 3e-2], label="lr"),
        max_epochs=nn.ValueChoice([1] if args.fast else [3, 8], label="epochs"),
        num_classes=10,
    )
    strategy = Random(seed=0) if args.fast else GridSearch()
    experiment = Experiment(DigitsMLP, evaluator, strategy)
    print(experiment.search_space.describe())  # hidden, then batch_size, lr and epochs

    config = ExperimentConfig(
        "inline" if args.fast else "local",
        experiment_name="digits-hparams",
        trial_concurrency=1 if args.fast else 2,
        max_trial_number=3 if args.fast else 16,
        storage=args.storage,
    )
    experiment.run(config)

    for trial in experiment.storage.trials(experiment.id or ""):
        print(f"trial {trial.id}: {trial.arch} → {trial.metric}")
    (best,) = experiment.export_top_models(top_k=1)  # the evaluator's choices included
    # As models, the best are built from the model's own labels; retrain one with its values.
    (model,) = experiment.export_top_models(top_k=1, formatter="instance")
    space = archsearch.search_space(DigitsMLP())
    print(f"best: {best}")
    print(
        f"its model: { ({k: v for k, v in best.items() if k in space}) }, "
        f"{sum(p.numel() for p in model.parameters())} parameters"
    )
    top = max(experiment.storage.trials(experiment.id or ""), key=lambda t: t.metric or 0.0)
    print(f"validation accuracy: {100 * (top.metric or 0.0):.1f}%")


if __name__ == "__main__":
    main()
