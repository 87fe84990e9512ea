"""How one-shot trainers feed data: two fixed halves, paired loaders, a fixed number of steps."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, Subset


def to_device(batch: Any, device: torch.device) -> Any:
    """`batch` with its tensors (nested in tuples, lists or dicts) moved to `device`."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, (list, tuple)):
        return type(batch)(to_device(b, device) for b in batch)
    if isinstance(batch, dict):
        return {k: to_device(v, device) for k, v in batch.items()}
    return batch


def halves(dataset: Dataset[Any]) -> tuple[Dataset[Any], Dataset[Any]]:
    """The first and second half of `dataset` (fixed, so a resumed search sees the same split):
    bi-level algorithms train weights on one and the architecture on the other."""
    size = len(dataset)  # type: ignore[arg-type]
    return Subset(dataset, range(size // 2)), Subset(dataset, range(size // 2, size))


class Paired:
    """Iterate two loaders in step (as long as the shorter lasts), or one loader with None."""

    def __init__(self, first: DataLoader[Any], second: DataLoader[Any] | None) -> None:
        self.first = first
        self.second = second

    def __len__(self) -> int:
        return len(self.first) if self.second is None else min(len(self.first), len(self.second))

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        if self.second is None:
            return ((batch, None) for batch in self.first)
        return zip(self.first, self.second, strict=False)


class Steps:
    """`steps` items of `source`, iterated again whenever it runs out (items grouped in lists
    of `group` when given); sized, so progress bars know the total."""

    def __init__(self, source: Iterable[Any], steps: int, group: int | None = None) -> None:
        self.source = source
        self.steps = steps
        self.group = group

    def __len__(self) -> int:
        return self.steps

    def __iter__(self) -> Iterator[Any]:
        items = _cycle(self.source)
        for _ in range(self.steps):
            chunk = list(itertools.islice(items, self.group or 1))
            if not chunk:  # an empty source: stop rather than spin
                return
            yield chunk if self.group is not None else chunk[0]


def _cycle(source: Iterable[Any]) -> Iterator[Any]:
    while True:
        empty = True
        for item in source:
            empty = False
            yield item
        if empty:
            return
