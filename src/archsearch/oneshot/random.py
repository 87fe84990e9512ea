"""Random one-shot: uniform single-path training, then the best of N sampled paths."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from archsearch.mutator import RandomMutator
from archsearch.oneshot.base import BaseOneShotTrainer, score, write_architecture
from archsearch.oneshot.launch import spawn
from archsearch.space import Architecture


class RandomTrainer(BaseOneShotTrainer[RandomMutator]):
    """Train the supernet on one uniformly random path per step (Li & Talwalkar's random search
    with weight sharing). `export()` scores `num_samples` random paths with the shared weights on
    `dataset_valid` and returns the best one (by the first metric, higher is better).
    """

    algorithm = "random"
    value_choices = "slice"

    def __init__(
        self, *args: Any, num_samples: int = 20, seed: int | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.num_samples = num_samples
        self.seed = seed
        self._best: Architecture | None = None

    def build_mutator(self) -> RandomMutator:
        return RandomMutator(self.model, seed=self.seed)

    def train_step(self, batch: Any) -> Mapping[str, float]:
        return self.sampled_weight_step(batch)  # a fresh uniformly sampled path per step

    def current_architecture(self) -> Architecture | None:
        return self._best

    def export(self, file: str | os.PathLike[str] | None = None) -> Architecture:
        if self.ranks.spawn > 1:  # devices=N: the candidates are scored on N new processes
            arch: Architecture = spawn(self, "export")
            return write_architecture(arch, file)
        sampler = self.mutator
        candidates = [sampler.search_space.sample(sampler.rng) for _ in range(self.num_samples)]
        # On several ranks each scores its share of the candidates (see `Ranks.map`).
        scores = self.ranks.map(lambda arch: score(self.evaluate_architecture(arch)), candidates)
        self._best = candidates[scores.index(max(scores))]
        return write_architecture(self._best, file if self.ranks.is_main else None)

    def extra_state(self) -> dict[str, Any]:
        return {"sampler": self.mutator.rng.getstate(), "best": self._best}

    def load_extra_state(self, state: Mapping[str, Any]) -> None:
        self.mutator.rng.setstate(state["sampler"])
        self._best = state["best"]
