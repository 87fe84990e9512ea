"""Grid search: every architecture of the space exactly once, in order or shuffled."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from typing import Any

from archsearch.space import Architecture, SearchSpace, Trial, to_json_value
from archsearch.strategy.base import Strategy
from archsearch.strategy.seen import SeenArchitectures

SHUFFLE_LIMIT = 10_000_000
"""Largest space a shuffled grid accepts: the shuffled order is a list of every index."""


class GridSearch(Strategy):
    """Every architecture of `space.grid()` once, then None (NNI's `GridSearch`).

    Architectures already in the history (a resumed experiment, trials added by hand) are
    skipped, so resuming continues where the grid stopped. With `shuffle` the order is a
    random permutation fixed by `seed`; without it, `space.grid()`'s order (last label fastest).
    """

    def __init__(self, shuffle: bool = False, seed: int | None = None) -> None:
        self.shuffle = shuffle
        self.seed = seed

    def reset(self, space: SearchSpace) -> None:
        self._labels = list(space)
        self._options: list[list[Any]] = [list(dim.options()) for dim in space.values()]
        self._size = space.size()
        self._cursor = 0
        self._order: list[int] | None = None
        if self.shuffle:
            if self._size > SHUFFLE_LIMIT:
                raise ValueError(
                    f"GridSearch(shuffle=True) lists every index of the space, but it has "
                    f"{self._size:,} architectures (limit {SHUFFLE_LIMIT:,}); use "
                    "shuffle=False or Random()"
                )
            self._order = list(range(self._size))
            random.Random(self.seed).shuffle(self._order)
        self._seen = SeenArchitectures(space)

    def arch_at(self, index: int) -> Architecture:
        """The `index`-th architecture of `space.grid()` (mixed radix, last label fastest)."""
        values: list[Any] = []
        for options in reversed(self._options):
            index, digit = divmod(index, len(options))
            values.append(options[digit])
        values.reverse()
        return {label: to_json_value(v) for label, v in zip(self._labels, values, strict=True)}

    def propose(self, history: Sequence[Trial]) -> Architecture | None:
        return self._seen.first_unseen(history, self._rest())

    def _rest(self) -> Iterator[Architecture]:
        """The grid from the cursor on (the cursor moves as they are drawn)."""
        while self._cursor < self._size:
            position = self._cursor
            self._cursor += 1
            yield self.arch_at(position if self._order is None else self._order[position])

    def __repr__(self) -> str:
        return f"GridSearch(shuffle={self.shuffle}, seed={self.seed})"
