"""ReplayMutator: run one given architecture on a supernet, with its shared weights."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from archsearch.mutator.mutator import Mutator


class ReplayMutator(Mutator):
    """Always decides `arch` (any accepted spelling; validated against the model's space).

    Used to score candidate paths of a trained supernet: bind it, run, then re-bind the search
    mutator with its `bind()`.
    """

    def __init__(self, model: torch.nn.Module, arch: Mapping[str, Any]) -> None:
        super().__init__(model)
        self.arch = self.search_space.validate(arch)
        self._masks = {
            label: torch.tensor(dim.mask(self.arch[label]))
            for label, dim in self.search_space.items()
        }
        self.reset()

    def sample_search(self) -> dict[str, torch.Tensor]:
        return self._masks

    def sample_final(self) -> dict[str, torch.Tensor]:
        return self._masks
