"""A one-shot algorithm written on archsearch's extension API: FairNAS's strict fairness.

FairNAS (Chu et al., 2021) trains a supernet so that every candidate of every choice gets exactly
the same number of updates: each step draws, for every label, a random permutation of its
candidates and runs n paths (n = the largest number of candidates), path i taking the i-th
entry of each permutation; gradients of the n paths are accumulated and applied once.

Two pieces, the pattern every algorithm follows:
- `FairMutator(Mutator)`: `sample_search()` returns the masks of the next path, `reset()` (called
  by the trainer each forward) applies them; `sample_final()` the architecture to export.
- `FairNasTrainer(BaseOneShotTrainer[FairMutator])`: `build_mutator()` (called on first use of
  `self.mutator`, typed `FairMutator`) and `train_step()`; the base trainer owns the loop, progress
  bars, history, callbacks and checkpoint/resume. Its constructor calls `super().__init__` first.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

import torch

from archsearch.mutator import Mutator
from archsearch.oneshot import BaseOneShotTrainer
from archsearch.oneshot.base import score
from archsearch.space import Architecture, InputChoiceDim


class FairMutator(Mutator):
    """Hands out paths so that within each group of n consecutive paths every candidate of every
    choice appears equally often (InputChoices are sampled uniformly: fairness is about ops)."""

    def __init__(self, model: torch.nn.Module, seed: int | None = None) -> None:
        super().__init__(model)
        self.rng = random.Random(seed)
        self.group_size = max(d.size() for d in self.search_space.values())
        self.queue: list[Architecture] = []
        self.best: Architecture | None = None

    def _new_group(self) -> list[Architecture]:
        columns = {}
        for label, dim in self.search_space.items():
            if isinstance(dim, InputChoiceDim):
                columns[label] = [dim.sample(self.rng) for _ in range(self.group_size)]
                continue
            options = list(dim.options())
            order: list[Any] = []
            while len(order) < self.group_size:  # repeat permutations for smaller choices
                order += self.rng.sample(options, len(options))
            columns[label] = order[: self.group_size]
        return [{label: columns[label][i] for label in columns} for i in range(self.group_size)]

    def sample_search(self) -> dict[str, list[bool]]:
        if not self.queue:
            self.queue = self._new_group()
        arch = self.queue.pop()
        return {label: dim.mask(arch[label]) for label, dim in self.search_space.items()}

    def sample_final(self) -> dict[str, list[bool]]:
        arch = self.best or self.search_space.default()
        return {label: dim.mask(arch[label]) for label, dim in self.search_space.items()}


class FairNasTrainer(BaseOneShotTrainer[FairMutator]):
    """Strict-fairness supernet training; `export()` returns the best of `num_samples` random
    paths evaluated with the shared weights."""

    algorithm = "fairnas"

    def __init__(
        self, *args: Any, num_samples: int = 16, seed: int | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.num_samples = num_samples
        self.seed = seed

    def build_mutator(self) -> FairMutator:
        return FairMutator(self.model, seed=self.seed)

    def train_step(self, batch: Any) -> Mapping[str, float]:
        x, y = self.to_device(batch)
        self.optimizer.zero_grad()
        total = 0.0
        for _ in range(self.mutator.group_size):  # one fair group: every candidate once
            with self.ranks.shared_random():  # on several processes: the same path on each
                self.mutator.reset()
            loss = self.loss(self.model(x), y)
            loss.backward()
            total += loss.item()
        self.ranks.average_gradients(self.model.parameters())  # no-op on one process
        self.optimizer.step()
        return {"loss": total / self.mutator.group_size}

    def current_architecture(self) -> Architecture | None:
        return self.mutator.best

    def export(self, file: Any = None) -> Architecture:
        space, rng = self.mutator.search_space, self.mutator.rng
        candidates = [space.sample(rng) for _ in range(self.num_samples)]
        self.mutator.best = max(candidates, key=lambda a: score(self.evaluate_architecture(a)))
        return super().export(file)

    def extra_state(self) -> dict[str, Any]:
        mutator = self.mutator
        return {"rng": mutator.rng.getstate(), "queue": mutator.queue, "best": mutator.best}

    def load_extra_state(self, state: Mapping[str, Any]) -> None:
        self.mutator.rng.setstate(state["rng"])
        self.mutator.queue = list(state["queue"])
        self.mutator.best = state["best"]
