"""RandomMutator: a uniformly random architecture at every `reset()`."""

from __future__ import annotations

import random
from collections.abc import Callable

import torch

from archsearch.mutator.mutator import Mutator
from archsearch.space import Dimension, LayerChoiceDim, ValueChoiceDim

Draw = Callable[[random.Random], torch.Tensor]


class RandomMutator(Mutator):
    """Samples every choice uniformly: `RandomMutator(model).reset()` runs a random architecture."""

    def __init__(self, model: torch.nn.Module, seed: int | None = None) -> None:
        super().__init__(model)
        self.rng = random.Random(seed)
        """The sampler's generator (its state is what a checkpoint must keep)."""
        self._draws: list[tuple[str, Draw]] | None = None

    def sample_search(self) -> dict[str, torch.Tensor]:
        # The same draws as `search_space.sample(self.rng)` followed by `dim.mask(value)`, without
        # building a value and a new mask tensor per label at every step (a single-path step's
        # `reset()`).
        if self._draws is None:
            self._draws = [(label, _draw(dim)) for label, dim in self.search_space.items()]
        rng = self.rng
        return {label: draw(rng) for label, draw in self._draws}

    def sample_final(self) -> dict[str, torch.Tensor]:
        return self.sample_search()


def _draw(dim: Dimension) -> Draw:
    """A function drawing one mask of `dim` from a generator, as `dim.sample` would draw it."""
    if type(dim) in (LayerChoiceDim, ValueChoiceDim):
        # Their `sample` is `rng.choice(candidates)`, whose draw depends only on the length: the
        # same draw over the indices picks the same candidate. A mask is only read, so one
        # tensor per candidate serves every step.
        n = dim.mask_size
        masks = [torch.arange(n) == i for i in range(n)]
        indices = range(n)
        return lambda rng: masks[rng.choice(indices)]
    return lambda rng: torch.tensor(dim.mask(dim.sample(rng)))
