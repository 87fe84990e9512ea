"""Which architectures an experiment has already tried: the shared memory behind deduplication.

Architectures are compared by their canonical form (`SearchSpace.validate`), keyed by the JSON of
their values in model order. The history is read incrementally: each `update` only looks at
trials appended since the last call, so asking stays O(1) per trial however long the
experiment runs, while trials the strategy never proposed (a resumed experiment, another
strategy) are still counted.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping, Sequence
from typing import Any

from archsearch.space import Architecture, InvalidArchitectureError, SearchSpace, Trial

ENUMERATE_LIMIT = 200_000
"""Largest space whose unseen architectures `sample_unseen` lists when random draws keep
hitting seen ones (a nearly exhausted space)."""

RANDOM_TRIES = 200
"""Uniform draws `sample_unseen` makes before it lists the unseen architectures."""


def arch_key(canonical: Mapping[str, Any]) -> str:
    """A hashable key of a canonical architecture: the JSON of its values in model order."""
    return json.dumps(list(canonical.values()), separators=(",", ":"))


class SeenArchitectures:
    """The set of architectures already in the history or already proposed, by canonical key."""

    def __init__(self, space: SearchSpace) -> None:
        self.space = space
        self.keys: set[str] = set()
        self._scanned = 0
        self._last_id: int | None = None
        self._size = space.size()

    def __contains__(self, key: object) -> bool:
        return key in self.keys

    def __len__(self) -> int:
        return len(self.keys)

    def key_of(self, arch: Mapping[str, Any]) -> str | None:
        """The key of any accepted spelling of `arch`, or None if it is not in the space."""
        try:
            return arch_key(self.space.validate(arch))
        except InvalidArchitectureError:
            return None

    def add(self, canonical: Mapping[str, Any]) -> str:
        """Remember a canonical architecture (e.g. one just proposed) and return its key."""
        key = arch_key(canonical)
        self.keys.add(key)
        return key

    def update(self, history: Sequence[Trial]) -> None:
        """Add the architectures of trials appended to `history` since the last call.

        History is in creation order and only grows; if it does not extend what was read
        before (another list), it is read again from the start. Trials whose architecture is
        not in the space are ignored.
        """
        start = self._scanned
        if start > len(history) or (start and history[start - 1].id != self._last_id):
            start = 0
        for trial in history[start:]:
            key = self.key_of(trial.arch)
            if key is not None:
                self.keys.add(key)
        self._scanned = len(history)
        self._last_id = history[-1].id if history else None

    def exhausted(self) -> bool:
        """Whether every architecture of the space has been seen."""
        return len(self.keys) >= self._size


def sample_unseen(seen: SeenArchitectures, rng: random.Random) -> Architecture | None:
    """A uniformly random architecture not in `seen` (and remembered there), or None if none is
    left. Draws at random first; a nearly exhausted space of at most ENUMERATE_LIMIT
    architectures is listed instead, so the last few are found without endless redraws."""
    if seen.exhausted():
        return None
    space = seen.space
    for _ in range(RANDOM_TRIES):
        arch = space.sample(rng)
        if arch_key(arch) not in seen:
            seen.add(arch)
            return arch
    if space.size() > ENUMERATE_LIMIT:
        return None  # not reached in practice: 200 misses mean almost all of it was seen
    left = [arch for arch in space.grid() if arch_key(arch) not in seen]
    if not left:
        return None
    arch = rng.choice(left)
    seen.add(arch)
    return arch
