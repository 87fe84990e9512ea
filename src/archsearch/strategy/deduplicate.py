"""A wrapper that keeps any strategy from proposing an architecture twice."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence

from archsearch.space import Architecture, SearchSpace, Trial
from archsearch.strategy.base import Strategy
from archsearch.strategy.seen import SeenArchitectures
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

    def reset(self, space: SearchSpace) -> None:
        super().reset(space)
        self._seen = SeenArchitectures(space)
        self._rng = random.Random(self.seed)

    def propose(self, history: Sequence[Trial]) -> Architecture | None:
        return self._seen.first_unseen(history, self._proposals(history), self._rng)

    def _proposals(self, history: Sequence[Trial]) -> Iterator[Architecture | None]:
        """Up to `max_retries + 1` proposals of the wrapped strategy, canonical."""
        for _ in range(self.max_retries + 1):
            proposed = self.strategy.ask(self.space, history)
            yield None if proposed is None else self.space.validate(proposed)

    def __repr__(self) -> str:
        return f"Deduplicate({self.strategy!r}, max_retries={self.max_retries})"
