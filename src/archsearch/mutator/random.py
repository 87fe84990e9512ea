"""RandomMutator: a uniformly random architecture at every `reset()`."""

from __future__ import annotations

import random

import torch

from archsearch.mutator.mutator import Mutator


class RandomMutator(Mutator):
    """Samples every choice uniformly: `RandomMutator(model).reset()` runs a random architecture."""

    def __init__(self, model: torch.nn.Module, seed: int | None = None) -> None:
        super().__init__(model)
        self.rng = random.Random(seed)
        """The sampler's generator (its state is what a checkpoint must keep)."""

    def sample_search(self) -> dict[str, torch.Tensor]:
        arch = self.search_space.sample(self.rng)
        return {
            label: torch.tensor(dim.mask(arch[label])) for label, dim in self.search_space.items()
        }

    def sample_final(self) -> dict[str, torch.Tensor]:
        return self.sample_search()
