"""How an InputChoice combines its chosen inputs (shared by search, mutators and fixed models)."""

from __future__ import annotations

from collections.abc import Sequence

import torch

REDUCTIONS = ("sum", "mean", "concat", "none")


def reduce_tensors(
    tensors: Sequence[torch.Tensor], reduction: str
) -> torch.Tensor | list[torch.Tensor] | None:
    """Combine chosen tensors: sum, mean, concat (dim 1) or none (the list itself).

    Nothing chosen gives None, as in NNI; a single tensor is returned as it is for every reduction
    except "none", so a one-input choice costs nothing.
    """
    if reduction == "none":
        return list(tensors)
    if not tensors:
        return None
    if len(tensors) == 1:
        return tensors[0]
    if reduction == "sum":
        return torch.stack(list(tensors)).sum(0)
    if reduction == "mean":
        return torch.stack(list(tensors)).mean(0)
    return torch.cat(list(tensors), dim=1)
