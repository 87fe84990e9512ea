"""Random search: uniform samples of the space, by default never the same architecture twice."""

from __future__ import annotations

import random
from collections.abc import Sequence

from archsearch.space import Architecture, OptimizeMode, SearchSpace, Trial
from archsearch.strategy.base import Strategy
from archsearch.strategy.seen import SeenArchitectures, sample_unseen


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

    def start(self, space: SearchSpace, optimize_mode: OptimizeMode) -> None:
        super().start(space, optimize_mode)
        self._rng = random.Random(self.seed)
        self._seen = SeenArchitectures(space)

    def ask(self, space: SearchSpace, history: Sequence[Trial]) -> Architecture | None:
        self.ensure_started(space)
        if not self.dedup:
            return space.sample(self._rng)
        self._seen.update(history)
        return sample_unseen(self._seen, self._rng)

    def __repr__(self) -> str:
        return f"Random(dedup={self.dedup}, seed={self.seed})"
