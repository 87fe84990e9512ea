"""Repeat: a block stacked a chosen number of times."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from archsearch.nn.factory import instantiate
from archsearch.nn.mutable import Mutable
from archsearch.nn.value_choice import ValueChoice


class Repeat(Mutable):
    """Stack `depth` copies of a block; `depth` is an int, a `(min, max)` range or a ValueChoice.

    `block_or_factory` is a module (deep-copied for each repetition) or a callable taking the
    repetition index (or nothing) and returning a module. The blocks are built for the largest
    depth; standalone, the first candidate depth runs (the minimum for a range). The label names
    the depth decision: the ValueChoice's own label, else `label`, else the attribute path.
    """

    def __init__(
        self,
        block_or_factory: torch.nn.Module | Callable[..., torch.nn.Module],
        depth: int | tuple[int, int] | ValueChoice,
        *,
        label: str | None = None,
        key: str | None = None,
    ) -> None:
        super().__init__(label=label, key=key)
        self.depth_choice: ValueChoice | None = _depth_choice(depth, self._explicit_label)
        depths = self.depth_choice.candidates if self.depth_choice else (depth,)
        # Blocks are direct children ("0", "1", ...), so their labels read `blocks.0.op`.
        for i in range(max(depths)):
            self.add_module(str(i), instantiate(block_or_factory, i))

    @property
    def label(self) -> str:
        # The depth decision's label: the ValueChoice's own once known (it may be shared with
        # another Repeat or a layer argument that was walked first), else this module's.
        choice = self.depth_choice
        if choice is not None and (choice._explicit_label or choice._derived_label):
            return choice.label
        return super().label

    @property
    def blocks(self) -> list[torch.nn.Module]:
        """The blocks, built for the largest depth."""
        return [m for m in self._modules.values() if m is not None]

    def depth_candidates(self) -> tuple[int, ...]:
        """The depths this Repeat may take."""
        return self.depth_choice.candidates if self.depth_choice else (len(self.blocks),)

    def forward(self, x: Any) -> Any:
        mutator = self.__dict__.get("_mutator")
        depth = self.depth_candidates()[0] if mutator is None else mutator.on_forward_repeat(self)
        for block in self.blocks[:depth]:
            x = block(x)
        return x


def _depth_choice(depth: Any, label: str | None) -> ValueChoice | None:
    if isinstance(depth, ValueChoice):
        candidates = depth.candidates
        choice: ValueChoice | None = depth
    elif isinstance(depth, tuple):
        if len(depth) != 2 or not all(isinstance(d, int) for d in depth) or depth[0] > depth[1]:
            raise ValueError(f"a depth range is (min, max) with min <= max, got {depth!r}")
        candidates = tuple(range(depth[0], depth[1] + 1))
        choice = ValueChoice(candidates, label=label)
    elif isinstance(depth, int) and not isinstance(depth, bool):
        candidates, choice = (depth,), None
    else:
        raise TypeError(f"depth must be an int, a (min, max) tuple or a ValueChoice, got {depth!r}")
    if not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in candidates):
        raise ValueError(f"Repeat depths must be non-negative ints, got {list(candidates)}")
    return choice
