"""BilevelTrainer: the data and optimizers of trainers that alternate weight and architecture
steps (DARTS, GDAS, ProxylessNAS)."""

from __future__ import annotations

from typing import Any, TypeVar

import torch

from archsearch.oneshot.alphas import AlphaMutator
from archsearch.oneshot.base import BaseOneShotTrainer
from archsearch.oneshot.batches import Paired, halves

A = TypeVar("A", bound=AlphaMutator)


class BilevelTrainer(BaseOneShotTrainer[A]):
    """A trainer whose steps pair a batch of `dataset_weights` (the first fixed half of
    `dataset_train`, for the weight step) with one of `dataset_arch` (the second half, for the
    architecture step by `arch_optimizer`, which the subclass creates). Takes the base
    constructor's arguments."""

    arch_optimizer: torch.optim.Optimizer

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.dataset_weights, self.dataset_arch = halves(self.dataset_train)

    def arch_adam(self, lr: float, betas: tuple[float, float], **options: Any) -> torch.optim.Adam:
        """Adam over the mutator's alphas, the subclasses' `arch_optimizer`."""
        return torch.optim.Adam(self.mutator.parameters(), lr=lr, betas=betas, **options)

    def arch_probabilities(self) -> dict[str, list[float]]:
        return {k: p.tolist() for k, p in self.mutator.probabilities().items()}

    def optimizers(self) -> dict[str, Any]:
        return {"weights": self.optimizer, "arch": self.arch_optimizer}

    def training_batches(self) -> Paired:
        """Pairs (weight batch, architecture batch) from the two halves of `dataset_train`."""
        return Paired(
            self.loader(self.dataset_weights, shuffle=True),
            self.loader(self.dataset_arch, shuffle=True),
        )
