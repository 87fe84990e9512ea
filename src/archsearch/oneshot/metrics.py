"""Metric functions in NNI's shape: `metrics(output, target) -> {name: value}`."""

from __future__ import annotations

import torch


def accuracy(
    output: torch.Tensor, target: torch.Tensor, topk: tuple[int, ...] = (1,)
) -> dict[str, float]:
    """Top-k accuracy as fractions: `{"acc": top-1}`, plus `"acc5"` etc. for other k."""
    maxk = min(max(topk), output.size(1))
    predicted = output.topk(maxk, dim=1).indices
    correct = predicted.eq(target.view(-1, 1))
    return {
        "acc" if k == 1 else f"acc{k}": float(correct[:, :k].any(dim=1).float().mean())
        for k in topk
    }
