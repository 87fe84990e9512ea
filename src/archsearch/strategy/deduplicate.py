"""A wrapper that keeps any strategy from proposing an architecture twice."""

from __future__ import annotations

import random
from collections.abc import Sequence

from archsearch.space import Architecture, OptimizeMode, SearchSpace, Trial
from archsearch.strategy.base import Strategy
from archsearch.strategy.seen import SeenArchitectures, arch_key, sample_unseen
from archsearch.strategy.wrapper import StrategyWrapper


class Deduplicate(StrategyWrapper):
    """Asks the wrapped strategy again while it proposes an architecture already in the
    history (or already proposed), comparing canonical forms.

    After `max_retries` repeats in a row it proposes an unseen random architecture instead
    (drawn with `seed`); it returns None when the wrapped strategy does or when the space is
    exhausted. The proposal is returned in canonical form.
    """

    def __init__(self, strategy: Strategy, max_retries: int = 100, seed: int | None = None) -> None:
        super().__init__(strategy)
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {max_retries}")
        self.max_retries = max_retries
        self.seed = seed

    def start(self, space: SearchSpace, optimize_mode: OptimizeMode) -> None:
        super().start(space, optimize_mode)
        self._seen = SeenArchitectures(space)
        self._rng = random.Random(self.seed)

    def ask(self, space: SearchSpace, history: Sequence[Trial]) -> Architecture | None:
        self.ensure_started(space)
        self._seen.update(history)
        if self._seen.exhausted():
            return None
        for _ in range(self.max_retries + 1):
            proposed = self.strategy.ask(space, history)
            if proposed is None:
                return None
            arch = space.validate(proposed)
            key = arch_key(arch)
            if key not in self._seen:
                self._seen.keys.add(key)
                return arch
        return sample_unseen(self._seen, self._rng)

    def __repr__(self) -> str:
        return f"Deduplicate({self.strategy!r}, max_retries={self.max_retries})"
