"""The dimensions of a search space: one immutable record per label.

Each dimension knows its options, turns every accepted way of writing a choice into one canonical
value, and explains what is valid when a value is not. Canonical values (DESIGN.md §7):
layer choice → candidate name, input choice → sorted list of input indices, value choice → the
value.
"""

from __future__ import annotations

import itertools
import math
import random
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from archsearch.space.values import same_value, shorten, to_json_value


class InvalidArchitectureError(ValueError):
    """An architecture that does not fit its space; the message names label and valid options."""


def _is_bool_mask(value: list[Any]) -> bool:
    return bool(value) and all(isinstance(v, bool) for v in value)


def _is_float_mask(value: list[Any]) -> bool:
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
    return bool(value) and numbers and any(isinstance(v, float) for v in value)


def _is_mask(value: list[Any]) -> bool:
    return _is_bool_mask(value) or _is_float_mask(value)


def _has_non_finite(value: list[Any]) -> bool:
    """Whether a mask holds NaN or an infinity: they rank nothing and JSON cannot hold them."""
    return any(isinstance(v, float) and not math.isfinite(v) for v in value)


def _ranked(weights: list[Any]) -> list[int]:
    """Indices ordered by weight, highest first; ties keep the lower index first."""
    return sorted(range(len(weights)), key=lambda i: (-weights[i], i))


class Dimension(ABC):
    """One decision of a search space, identified by its label."""

    kind: ClassVar[str]
    label: str

    @abstractmethod
    def size(self) -> int:
        """Number of distinct canonical values."""

    @abstractmethod
    def options(self) -> Iterator[Any]:
        """Every canonical value, in a fixed order."""

    @abstractmethod
    def default(self) -> Any:
        """The first candidate: what a model runs in standalone mode."""

    @abstractmethod
    def sample(self, rng: random.Random) -> Any:
        """A uniformly random canonical value."""

    @abstractmethod
    def canonical(self, value: Any) -> Any:
        """Canonical form of any accepted spelling of a value; else InvalidArchitectureError."""

    @abstractmethod
    def mask(self, value: Any) -> list[bool]:
        """Multi-hot mask over the candidates for a value (as mutators use it)."""

    @property
    def mask_size(self) -> int:
        """The length of this dimension's masks (its number of candidates or inputs)."""
        return len(self.mask(self.default()))

    @abstractmethod
    def to_json(self) -> dict[str, Any]:
        """The classic `ss-gen` entry: `{"_type": ..., "_value": ...}`."""

    def error(self, value: Any, problem: str, options: str) -> InvalidArchitectureError:
        """An error naming this label, the rejected value (shortened) and what would be valid."""
        return InvalidArchitectureError(
            f"label {self.label!r}: {problem} (got {shorten(value)}); valid options: {options}"
        )


@dataclass(frozen=True)
class LayerChoiceDim(Dimension):
    """Choose one of named candidate layers. Canonical value: the candidate name."""

    label: str
    names: tuple[str, ...]
    kind: ClassVar[str] = "layer_choice"

    def __post_init__(self) -> None:
        if not self.names:
            raise ValueError(f"layer choice {self.label!r} needs at least one candidate")
        if len(set(self.names)) != len(self.names):
            raise ValueError(f"layer choice {self.label!r} has repeated names {self.names}")

    def size(self) -> int:
        return len(self.names)

    def options(self) -> Iterator[str]:
        return iter(self.names)

    def default(self) -> str:
        return self.names[0]

    def sample(self, rng: random.Random) -> str:
        return rng.choice(self.names)

    def canonical(self, value: Any) -> str:
        options = f"one of {list(self.names)} or an index 0..{len(self.names) - 1}"
        # A one-element list wraps a choice; unwrapped in a loop, so any nesting depth is safe.
        while isinstance(value, (list, tuple)) and len(value) == 1 and not _is_mask(list(value)):
            value = value[0]
        if isinstance(value, str):
            if value in self.names:
                return value
            raise self.error(value, "unknown candidate name", options)
        if isinstance(value, int) and not isinstance(value, bool):
            if 0 <= value < len(self.names):
                return self.names[value]
            raise self.error(value, "index out of range", options)
        if isinstance(value, (list, tuple)):
            value = list(value)
            if _is_mask(value):
                if len(value) != len(self.names):
                    raise self.error(value, f"mask must have {len(self.names)} entries", options)
                if _has_non_finite(value):
                    raise self.error(value, "mask weights must be finite numbers", options)
                picked = [i for i, v in enumerate(value) if v]
                if _is_bool_mask(value) and len(picked) != 1:
                    raise self.error(value, "a layer choice selects exactly one candidate", options)
                if not picked:
                    raise self.error(value, "mask selects nothing", options)
                return self.names[_ranked(value)[0]]
            raise self.error(value, "a layer choice selects exactly one candidate", options)
        raise self.error(value, "not a candidate name, index or mask", options)

    def mask(self, value: Any) -> list[bool]:
        name = self.canonical(value)
        return [n == name for n in self.names]

    def to_json(self) -> dict[str, Any]:
        return {"_type": self.kind, "_value": list(self.names)}


@dataclass(frozen=True)
class InputChoiceDim(Dimension):
    """Choose `n_chosen` of `n_candidates` inputs (`None`: any subset, the empty one included).

    Canonical value: the sorted list of chosen input indices (an input is never chosen twice).
    `default_all`: an any-subset choice whose default is every input (NNI v1's standalone mode)
    rather than the first alone. `chosen_range=(lo, hi)` (with `n_chosen=None`) allows any subset
    of lo to hi inputs, as an annotation's `optional_input_size: [lo, hi]`.
    """

    label: str
    n_candidates: int
    n_chosen: int | None
    names: tuple[str, ...]
    default_all: bool = False
    chosen_range: tuple[int, int] | None = None
    kind: ClassVar[str] = "input_choice"

    def __post_init__(self) -> None:
        if len(self.names) != self.n_candidates or len(set(self.names)) != len(self.names):
            raise ValueError(
                f"input choice {self.label!r} needs {self.n_candidates} distinct names"
            )
        if self.n_chosen is not None and not 1 <= self.n_chosen <= self.n_candidates:
            raise ValueError(
                f"input choice {self.label!r}: n_chosen={self.n_chosen} must be in "
                f"1..n_candidates={self.n_candidates} (or None for any subset)"
            )
        if self.chosen_range is not None:
            bounds = tuple(self.chosen_range)
            ints = all(isinstance(b, int) and not isinstance(b, bool) for b in bounds)
            if self.n_chosen is not None or len(bounds) != 2 or not ints:
                raise ValueError(
                    f"input choice {self.label!r}: chosen_range must be [min, max] (two ints) "
                    f"with n_chosen=None, got {self.chosen_range!r}"
                )
            if not 0 <= bounds[0] < bounds[1] <= self.n_candidates:
                raise ValueError(
                    f"input choice {self.label!r}: chosen_range {list(bounds)} must satisfy "
                    f"0 <= min < max <= n_candidates={self.n_candidates}"
                )
            object.__setattr__(self, "chosen_range", bounds)

    def _counts(self) -> range:
        """How many inputs may be chosen."""
        if self.n_chosen is not None:
            return range(self.n_chosen, self.n_chosen + 1)
        low, high = self.chosen_range or (0, self.n_candidates)
        return range(low, high + 1)

    def size(self) -> int:
        return sum(math.comb(self.n_candidates, r) for r in self._counts())

    def options(self) -> Iterator[list[int]]:
        for r in self._counts():
            for combo in itertools.combinations(range(self.n_candidates), r):
                yield list(combo)

    def default(self) -> list[int]:
        # The first candidates; "any subset" starts from the first input alone, not the empty set,
        # so that a model in standalone mode gets a tensor rather than None. A range starts from
        # its minimum.
        if self.chosen_range is not None:
            return list(range(self.chosen_range[0]))
        if self.n_chosen is None:
            return list(range(self.n_candidates if self.default_all else min(1, self.n_candidates)))
        return list(range(self.n_chosen))

    def sample(self, rng: random.Random) -> list[int]:
        if self.chosen_range is not None:
            # Uniform over the subsets: a count weighted by how many subsets have it.
            counts = list(self._counts())
            weights = [math.comb(self.n_candidates, r) for r in counts]
            r = rng.choices(counts, weights=weights)[0]
            return sorted(rng.sample(range(self.n_candidates), r))
        if self.n_chosen is None:
            return [i for i in range(self.n_candidates) if rng.random() < 0.5]
        return sorted(rng.sample(range(self.n_candidates), self.n_chosen))

    def _options_text(self) -> str:
        if self.chosen_range is not None:
            count = f"{self.chosen_range[0]} to {self.chosen_range[1]} of"
        else:
            count = "any number of" if self.n_chosen is None else f"exactly {self.n_chosen} of"
        return (
            f"{count} the inputs {list(self.names)} (names or indices 0..{self.n_candidates - 1})"
        )

    def _index(self, item: Any, value: Any) -> int:
        if isinstance(item, str) and item in self.names:
            return self.names.index(item)
        if isinstance(item, int) and not isinstance(item, bool) and 0 <= item < self.n_candidates:
            return item
        raise self.error(value, f"{shorten(item)} is not one of the inputs", self._options_text())

    def canonical(self, value: Any) -> list[int]:
        # A bare value is one input; only a list can be a mask (a lone True is not a mask).
        is_list = isinstance(value, (list, tuple))
        items = list(value) if is_list else [value]
        if is_list and _is_mask(items):
            if len(items) != self.n_candidates:
                raise self.error(
                    value, f"mask must have {self.n_candidates} entries", self._options_text()
                )
            if _has_non_finite(items):
                raise self.error(value, "mask weights must be finite numbers", self._options_text())
            chosen = [i for i, v in enumerate(items) if v]
            if _is_float_mask(items) and self.n_chosen is not None:
                # Weights (e.g. DARTS): the top-k inputs by weight.
                chosen = [i for i in _ranked(items)[: self.n_chosen] if items[i]]
        else:
            chosen = [self._index(item, value) for item in items]
            if len(set(chosen)) != len(chosen):
                raise self.error(value, "an input is chosen twice", self._options_text())
        if len(chosen) not in self._counts():
            raise self.error(value, f"chose {len(chosen)} inputs", self._options_text())
        return sorted(chosen)

    def mask(self, value: Any) -> list[bool]:
        chosen = set(self.canonical(value))
        return [i in chosen for i in range(self.n_candidates)]

    def to_json(self) -> dict[str, Any]:
        count = list(self.chosen_range) if self.chosen_range is not None else self.n_chosen
        return {"_type": self.kind, "_value": {"candidates": list(self.names), "n_chosen": count}}


@dataclass(frozen=True)
class ValueChoiceDim(Dimension):
    """Choose one of several JSON values (a width, a kernel size, a depth). Canonical: the value."""

    label: str
    values: tuple[Any, ...]
    kind: ClassVar[str] = "choice"

    def __post_init__(self) -> None:
        if not self.values:
            raise ValueError(f"value choice {self.label!r} needs at least one candidate")
        normal = [to_json_value(v) for v in self.values]
        for i, v in enumerate(normal):
            if any(same_value(v, w) for w in normal[:i]):
                raise ValueError(f"value choice {self.label!r} repeats the candidate {v!r}")
        object.__setattr__(self, "values", tuple(normal))

    def size(self) -> int:
        return len(self.values)

    # Candidates may be lists or dicts: hand out copies, so editing an architecture never edits
    # the (immutable) space.
    def options(self) -> Iterator[Any]:
        return (to_json_value(v) for v in self.values)

    def default(self) -> Any:
        return to_json_value(self.values[0])

    def sample(self, rng: random.Random) -> Any:
        return to_json_value(rng.choice(self.values))

    def index(self, value: Any) -> int:
        """Position of a value among the candidates (any accepted spelling)."""
        found = self.canonical(value)
        return [same_value(v, found) for v in self.values].index(True)

    def canonical(self, value: Any) -> Any:
        options = f"one of {list(self.values)}"
        try:
            normal = to_json_value(value)
        except TypeError as exc:
            raise self.error(value, f"not a JSON value: {exc}", options) from None
        for candidate in self.values:
            if same_value(candidate, normal):
                return to_json_value(candidate)
        if isinstance(normal, list) and _is_mask(normal):
            if len(normal) != len(self.values):
                raise self.error(value, f"mask must have {len(self.values)} entries", options)
            picked = [i for i, v in enumerate(normal) if v]
            if (_is_bool_mask(normal) and len(picked) != 1) or not picked:
                raise self.error(value, "a value choice selects exactly one candidate", options)
            return to_json_value(self.values[_ranked(normal)[0]])
        raise self.error(value, "not a candidate", options)

    def mask(self, value: Any) -> list[bool]:
        i = self.index(value)
        return [j == i for j in range(len(self.values))]

    def to_json(self) -> dict[str, Any]:
        return {"_type": self.kind, "_value": to_json_value(self.values)}
