"""A new multi-trial strategy in one file: local search that mutates the best architecture so far.

Copy it to start your own. A strategy subclasses `Strategy` and implements `propose`; it builds
its state in `reset` and updates it in `learn`, because on resume the experiment starts a fresh
copy and tells it every finished trial again. Then a small run: 10 trials of a tiny MLP space on
scikit-learn's 8×8 digits, each 50 full-batch steps in this process (seconds on an idle CPU).

python examples/custom_strategy.py
"""

from __future__ import annotations

import functools
import random
from collections.abc import Iterator, Sequence

import torch

import archsearch.nn as nn
from archsearch.evaluator import FunctionalEvaluator, Split, load_digits
from archsearch.experiment import Experiment, ExperimentConfig
from archsearch.space import Architecture, SearchSpace, Trial
from archsearch.strategy import SeenArchitectures, Strategy


class MutateTheBest(Strategy):
    """Random architectures until one succeeds, then the best so far with one label changed."""

    def __init__(self, tries: int = 50, seed: int | None = None) -> None:
        self.tries = tries
        self.seed = seed

    def reset(self, space: SearchSpace) -> None:
        """Fresh state for `space` (the experiment calls `start`, which calls this)."""
        self.rng = random.Random(self.seed)
        self.seen = SeenArchitectures(space)  # what was tried or proposed: never again
        self.best: tuple[float, Architecture] | None = None

    def learn(self, trial: Trial) -> None:
        """One finished trial; `score` is larger-is-better in both optimize modes, None if
        the trial failed."""
        value = self.score(trial)
        if value is not None and (self.best is None or value > self.best[0]):
            self.best = (value, dict(trial.arch))

    def propose(self, history: Sequence[Trial]) -> Architecture | None:
        """The first untried mutation of the best; a random untried architecture when there
        is no best yet or every mutation tried was seen; None (the experiment ends) once the
        whole space has been tried."""
        mutations = () if self.best is None else self.mutations(self.best[1])
        return self.seen.first_unseen(history, mutations, self.rng)

    def mutations(self, parent: Architecture) -> Iterator[Architecture]:
        for _ in range(self.tries):
            label = self.rng.choice(list(self.space))
            yield {**parent, label: self.space[label].sample(self.rng)}


class TinyNet(nn.Module):
    """The model space: hidden width × activation × depth = 18 architectures."""

    def __init__(self) -> None:
        super().__init__()
        width = nn.ValueChoice([16, 32, 64], label="width")
        activation = nn.LayerChoice(
            {"relu": nn.ReLU(), "tanh": nn.Tanh(), "sigmoid": nn.Sigmoid()}, label="activation"
        )
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(64, width), activation)
        self.extra = nn.Repeat(nn.Sequential(nn.Linear(width, width), nn.ReLU()), (0, 1))
        self.head = nn.Linear(width, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.extra(self.body(x)))


def train_and_test(model: torch.nn.Module, steps: int) -> float:
    """Full-batch Adam on the digits; the test accuracy in percent."""
    split = digits()
    x, y = split.train.tensors
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(steps):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    x, y = split.test.tensors
    with torch.no_grad():
        return 100.0 * (model(x).argmax(1) == y).float().mean().item()


@functools.cache
def digits() -> Split:
    return load_digits()


def main() -> None:
    experiment = Experiment(
        TinyNet, FunctionalEvaluator(train_and_test, steps=50), MutateTheBest(seed=0)
    )
    experiment.run(ExperimentConfig("inline", max_trial_number=10))
    best = max(experiment.storage.trials(experiment.id or ""), key=lambda t: t.metric or 0.0)
    print(f"best architecture: {best.arch}  test accuracy: {best.metric:.1f}%")


if __name__ == "__main__":
    main()
