"""SearchSpace: an ordered, immutable mapping label → dimension, and the architecture format."""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from archsearch.space.dimensions import (
    Dimension,
    InputChoiceDim,
    InvalidArchitectureError,
    LayerChoiceDim,
    ValueChoiceDim,
)
from archsearch.space.values import shorten, to_json_value

Architecture = dict[str, Any]
"""A JSON-able dict label → choice (DESIGN.md §7 gives the canonical value of each kind)."""


class SearchSpace(Mapping[str, Dimension]):
    """The decisions a model leaves open, in model order. Pure data: it never touches a model.

    An architecture is valid for a space when it names exactly the space's labels (NNI's
    exact-key rule) and each value is accepted by its dimension.
    """

    def __init__(self, dimensions: Iterable[Dimension] = ()) -> None:
        dims: dict[str, Dimension] = {}
        for dim in dimensions:
            if dim.label in dims:
                raise ValueError(f"label {dim.label!r} appears twice in the search space")
            dims[dim.label] = dim
        self._dims = dims

    def __getitem__(self, label: str) -> Dimension:
        return self._dims[label]

    def __iter__(self) -> Iterator[str]:
        return iter(self._dims)

    def __len__(self) -> int:
        return len(self._dims)

    def __repr__(self) -> str:
        return f"SearchSpace({list(self._dims.values())!r})"

    @property
    def labels(self) -> list[str]:
        """The labels, in model order."""
        return list(self._dims)

    def size(self) -> int:
        """Number of distinct architectures (an exact integer, however large)."""
        return math.prod(dim.size() for dim in self._dims.values())

    def default(self) -> Architecture:
        """The first candidate of every choice: what the model runs in standalone mode."""
        return {label: dim.default() for label, dim in self._dims.items()}

    def sample(self, seed: int | random.Random | None = None) -> Architecture:
        """A uniformly random architecture; the same seed gives the same architecture."""
        rng = seed if isinstance(seed, random.Random) else random.Random(seed)
        return {label: dim.sample(rng) for label, dim in self._dims.items()}

    def grid(self) -> Iterator[Architecture]:
        """Every architecture exactly once, the last label varying fastest."""
        labels = list(self._dims)
        for values in itertools.product(*(list(d.options()) for d in self._dims.values())):
            # Copies: the option lists are shared by every architecture of the product.
            yield {label: to_json_value(v) for label, v in zip(labels, values, strict=True)}

    def validate(self, arch: Mapping[str, Any]) -> Architecture:
        """Return the canonical form of `arch`, in model order.

        Every accepted spelling (name, index, list of names or indices, bool or float multi-hot
        mask) becomes one canonical value. Missing or unknown labels and invalid values raise
        InvalidArchitectureError naming each label and its valid options.
        """
        if not isinstance(arch, Mapping):
            raise InvalidArchitectureError(
                f"an architecture is a dict label → choice, got {type(arch).__name__}; "
                f"the space has labels {self.labels}"
            )
        problems = [
            f"missing label {label!r}; valid options: {_describe(dim)}"
            for label, dim in self._dims.items()
            if label not in arch
        ]
        unknown = [label for label in arch if label not in self._dims]
        if unknown:
            problems.append(
                f"unknown labels {shorten(unknown)}; the space has labels {self.labels}"
            )
        result: Architecture = {}
        for label, dim in self._dims.items():
            if label in arch:
                try:
                    result[label] = dim.canonical(arch[label])
                except InvalidArchitectureError as exc:
                    problems.append(str(exc))
        if problems:
            raise InvalidArchitectureError("invalid architecture: " + "; ".join(problems))
        return result

    def to_json(self) -> dict[str, dict[str, Any]]:
        """The classic search-space format written by `archsearch ss-gen`."""
        return {label: dim.to_json() for label, dim in self._dims.items()}

    @classmethod
    def from_json(cls, data: Mapping[str, Mapping[str, Any]]) -> SearchSpace:
        """Read the classic format back (`to_json` round-trips exactly)."""
        return cls(_dimension_from_json(label, entry) for label, entry in data.items())

    def describe(self) -> str:
        """A human-readable table: one line per label, then the size."""
        width = max((len(label) for label in self._dims), default=5)
        lines = [
            f"{label:<{width}}  {dim.kind:<12}  {_describe(dim)}" for label, dim in self.items()
        ]
        lines.append(f"{len(self)} choices, {self.size():,} architectures")
        return "\n".join(lines)


def _describe(dim: Dimension) -> str:
    if isinstance(dim, InputChoiceDim):
        count = "any subset" if dim.n_chosen is None else f"{dim.n_chosen} of"
        if dim.chosen_range is not None:
            count = f"{dim.chosen_range[0]} to {dim.chosen_range[1]} of"
        return f"{count} {list(dim.names)}"
    return str(list(dim.options()))


def _dimension_from_json(label: str, entry: Mapping[str, Any]) -> Dimension:
    kind, value = entry.get("_type"), entry.get("_value")
    if kind == LayerChoiceDim.kind:
        return LayerChoiceDim(label, tuple(value or ()))
    if kind == InputChoiceDim.kind and isinstance(value, Mapping):
        names = tuple(value["candidates"])
        count = value.get("n_chosen", 1)
        if isinstance(count, list):  # a [min, max] range
            return InputChoiceDim(label, len(names), None, names, chosen_range=tuple(count))
        return InputChoiceDim(label, len(names), count, names)
    if kind == ValueChoiceDim.kind:
        return ValueChoiceDim(label, tuple(value or ()))
    raise ValueError(
        f"label {label!r}: unsupported search-space entry {dict(entry)!r}; expected _type "
        "'layer_choice', 'input_choice' or 'choice'"
    )
