"""Random search: uniform samples of the space, by default never the same architecture twice."""

from __future__ import annotations

import random
from collections.abc import Sequence

from archsearch.space import Architecture, SearchSpace, Trial
from archsearch.strategy.base import Strategy
from archsearch.strategy.seen import SeenArchitectures


class Random(Strategy):
    """Uniformly random architectures (NNI's `Random`).

    With `dedup` (the default) it never proposes an architecture already in the history
    (running and waiting trials included) or already proposed, and returns None once the
    space is exhausted; without it, draws are independent and may repeat. `seed` makes the
    sequence reproducible.
    """

    def __init__(self, dedup: bool = True, seed: int | None = None) -> None:
        self.dedup = dedup
        self.seed = seed

    def reset(self, space: SearchSpace) -> None:
        self._rng = random.Random(self.seed)
        self._seen = SeenArchitectures(space)

    def propose(self, history: Sequence[Trial]) -> Architecture | None:
        if not self.dedup:
            return self.space.sample(self._rng)
        return self._seen.first_unseen(history, (), self._rng)

    def __repr__(self) -> str:
        return f"Random(dedup={self.dedup}, seed={self.seed})"
