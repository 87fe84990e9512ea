"""Weight sharing across the values of a ValueChoice: one maximal layer, sliced or masked."""

from __future__ import annotations

import torch

from archsearch.nn import ModelChoices


def to_supernet(model: torch.nn.Module, choices: ModelChoices, *, trainer: str, mode: str) -> None:
    """Replace each layer built from value-choice arguments by a weight-sharing supernet layer."""
    labels = ", ".join(sorted(choices.argument_labels))
    raise TypeError(f"{trainer} cannot search ValueChoice layer arguments yet ({labels})")
