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
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from archsearch.space import Architecture, InvalidArchitectureError, SearchSpace, Trial

ENUMERATE_LIMIT = 200_000
"""Largest space whose unseen architectures `first_unseen` lists when random draws keep
hitting seen ones (a nearly exhausted space)."""

RANDOM_TRIES = 200
"""Uniform draws `first_unseen` makes before it lists the unseen architectures."""


def arch_key(canonical: Mapping[str, Any]) -> str:
    """A hashable key of a canonical architecture: the JSON of its values in model order."""
    return json.dumps(list(canonical.values()), separators=(",", ":"))


class SeenArchitectures:
    """The architectures already in the history or proposed, by canonical key (a strategy with
    `dedup` builds one in `reset` and proposes through `first_unseen`)."""

    def __init__(self, space: SearchSpace) -> None:
        self.space = space
        self._keys: set[str] = set()
        self._scanned = 0
        self._last_id: int | None = None
        self._size = space.size()

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __len__(self) -> int:
        return len(self._keys)

    def key_of(self, arch: Mapping[str, Any]) -> str | None:
        """The key of any accepted spelling of `arch`, or None if it is not in the space."""
        try:
            return arch_key(self.space.validate(arch))
        except InvalidArchitectureError:
            return None

    def claim(self, canonical: Mapping[str, Any]) -> bool:
        """Whether a canonical architecture is new; it is remembered as seen from now on."""
        key = arch_key(canonical)
        if key in self._keys:
            return False
        self._keys.add(key)
        return True

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
                self._keys.add(key)
        self._scanned = len(history)
        self._last_id = history[-1].id if history else None

    def exhausted(self) -> bool:
        """Whether every architecture of the space has been seen."""
        return len(self._keys) >= self._size

    def first_unseen(
        self,
        history: Sequence[Trial],
        candidates: Iterable[Architecture | None],
        rng: random.Random | None = None,
    ) -> Architecture | None:
        """A deduplicated proposal: the first of `candidates` (canonical architectures) that is
        neither in `history` nor proposed before, claimed. When the candidates run out, a
        uniformly random unseen architecture drawn with `rng` (None without `rng`). None when a
        candidate is None (its source has nothing left) or the whole space has been seen."""
        self.update(history)
        if len(self._keys) >= self._size:  # exhausted (inline: this runs on every ask)
            return None
        for arch in candidates:
            if arch is None:
                return None
            if self.claim(arch):
                return arch
        return None if rng is None else self._random_unseen(rng)

    def _random_unseen(self, rng: random.Random) -> Architecture | None:
        # Random draws first; a nearly exhausted space of at most ENUMERATE_LIMIT architectures
        # is listed instead, so the last few are found without endless redraws.
        space = self.space
        for _ in range(RANDOM_TRIES):
            arch = space.sample(rng)
            if self.claim(arch):
                return arch
        if space.size() > ENUMERATE_LIMIT:
            return None  # not reached in practice: 200 misses mean almost all of it was seen
        left = [arch for arch in space.grid() if arch_key(arch) not in self._keys]
        if not left:
            return None
        arch = rng.choice(left)
        self.claim(arch)
        return arch
