"""RandomMutator: a uniformly random architecture at every `reset()`."""

from __future__ import annotations

import random

import torch

from archsearch.mutator.mutator import Mutator
from archsearch.space import Dimension, LayerChoiceDim, ValueChoiceDim


class RandomMutator(Mutator):
    """Samples every choice uniformly: `RandomMutator(model).reset()` runs a random architecture."""

    def __init__(self, model: torch.nn.Module, seed: int | None = None) -> None:
        super().__init__(model)
        self.rng = random.Random(seed)
        """The sampler's generator (its state is what a checkpoint must keep)."""
        self._draws: list[tuple[str, Dimension, tuple[torch.Tensor, ...] | None]] | None = None

    def sample_search(self) -> dict[str, torch.Tensor]:
        # The same draws as `search_space.sample(self.rng)` followed by `dim.mask(value)`, without
        # building a value and a new mask tensor per label at every step (a single-path step's
        # `reset()`).
        if self._draws is None:
            self._draws = [(label, dim, _masks(dim)) for label, dim in self.search_space.items()]
        rng = self.rng
        return {
            label: torch.tensor(dim.mask(dim.sample(rng))) if masks is None else rng.choice(masks)
            for label, dim, masks in self._draws
        }

    def sample_final(self) -> dict[str, torch.Tensor]:
        return self.sample_search()


def _masks(dim: Dimension) -> tuple[torch.Tensor, ...] | None:
    """One mask per candidate of a dimension whose `sample` is `rng.choice(candidates)` (None for
    others): that draw depends only on the length, so `rng.choice(masks)` picks the same
    candidate. A mask is only read, so one tensor per candidate serves every step."""
    if type(dim) not in (LayerChoiceDim, ValueChoiceDim):
        return None
    n = dim.mask_size
    return tuple(torch.arange(n) == i for i in range(n))
