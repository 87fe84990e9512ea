"""Trial functions with hyper-parameters for the experiment tests (module level, so worker
processes import them)."""

from __future__ import annotations

import torch
from experiment_jobs import arch_score


def scaled_score(model: torch.nn.Module, lr: float) -> float:
    """The architecture's score times `lr`; TypeError unless `lr` is a plain number (a trial
    given the ValueChoice object itself fails)."""
    if not isinstance(lr, float):
        raise TypeError(f"lr is {lr!r}, not a float")
    return arch_score(model) * lr
