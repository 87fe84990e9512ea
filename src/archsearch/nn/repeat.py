"""Repeat: a block stacked a chosen number of times."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from archsearch.nn.factory import instantiate
from archsearch.nn.mutable import Mutable
from archsearch.nn.value_choice import ChoiceExpression, ValueChoice, resolve


class Repeat(Mutable):
    """Stack `depth` copies of a block; `depth` is an int, a `(min, max)` range, a ValueChoice or
    an expression of one ValueChoice (`ValueChoice([0, 2]) + 1`).

    `block_or_factory` is a module (deep-copied for each repetition) or a callable taking the
    repetition index (or nothing) and returning a module. The blocks are built for the largest
    depth; standalone, the depth of the first candidate runs (the minimum for a range). The label
    names the depth decision: the ValueChoice's own label, else `label`, else the attribute path.
    """

    def __init__(
        self,
        block_or_factory: torch.nn.Module | Callable[..., torch.nn.Module],
        depth: int | tuple[int, int] | ChoiceExpression,
        *,
        label: str | None = None,
        key: str | None = None,
    ) -> None:
        super().__init__(label=label, key=key)
        self.depth_expression: ChoiceExpression | None = _depth_expression(
            depth, self._explicit_label
        )
        self.depth_choice: ValueChoice | None = (
            None if self.depth_expression is None else _only_leaf(self.depth_expression, depth)
        )
        """The value choice deciding the depth (the expression's one leaf), or None."""
        self._depths: tuple[Any, ...] | None = None
        """The depth of each candidate of `depth_choice` (computed once: read every forward)."""
        if self.depth_expression is not None and self.depth_choice is not None:
            expression, candidates = self.depth_expression, self.depth_choice.candidates
            self._depths = tuple(resolve(expression, _constant(c)) for c in candidates)
        depths = self._depths if self._depths is not None else (depth,)
        if not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in depths):
            raise ValueError(f"Repeat depths must be non-negative ints, got {list(depths)}")
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
        """The depths this Repeat may take, one per candidate of its value choice, in order."""
        return (len(self.blocks),) if self._depths is None else self._depths

    def current_depth(self) -> int:
        """The depth to run now: the mutator's decision, or the first candidate standalone."""
        mutator = self.__dict__.get("_mutator")
        depth: int = (
            self.depth_candidates()[0] if mutator is None else mutator.on_forward_repeat(self)
        )
        return depth

    def forward(self, x: Any) -> Any:
        depth = self.current_depth()
        for block in self.blocks[:depth]:
            x = block(x)
        return x


def _constant(value: Any) -> Callable[[ValueChoice], Any]:
    return lambda _: value


def _depth_expression(depth: Any, label: str | None) -> ChoiceExpression | None:
    if isinstance(depth, ChoiceExpression):
        return depth
    if isinstance(depth, tuple):
        if len(depth) != 2 or not all(isinstance(d, int) for d in depth) or depth[0] > depth[1]:
            raise ValueError(f"a depth range is (min, max) with min <= max, got {depth!r}")
        return ValueChoice(tuple(range(depth[0], depth[1] + 1)), label=label)
    if isinstance(depth, int) and not isinstance(depth, bool):
        return None
    raise TypeError(f"depth must be an int, a (min, max) tuple or a ValueChoice, got {depth!r}")


def _only_leaf(expression: ChoiceExpression, depth: Any) -> ValueChoice:
    leaves = list({id(leaf): leaf for leaf in expression.inner_choices()}.values())
    if len(leaves) != 1:
        raise ValueError(
            f"a Repeat depth expression must depend on exactly one ValueChoice, {depth!r} "
            f"depends on {len(leaves)}; give the depth a ValueChoice of its own"
        )
    return leaves[0]
