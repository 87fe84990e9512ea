"""InputChoice: choose which of several input tensors to use, and how to combine them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from archsearch.nn.mutable import Mutable
from archsearch.nn.reduction import REDUCTIONS, reduce_tensors


class InputChoice(Mutable):
    """Choose `n_chosen` of `n_candidates` inputs (`n_chosen=None`: any subset) and reduce them.

    `forward` takes the list of candidate tensors (or a dict keyed by `choose_from` names) and
    returns their reduction: "sum", "mean", "concat" (dim 1) or "none" (the list). With nothing
    chosen it returns None. Standalone, the first `n_chosen` inputs are used (the first input
    alone when any subset is allowed).
    """

    return_mask: bool = False
    """Whether forward returns `(output, mask)` (v1's `return_mask`); never for this class."""
    default_all: bool = False
    """Whether standalone mode uses every input when any subset is allowed (v1) rather than the
    first alone."""

    def __init__(
        self,
        n_candidates: int | None = None,
        n_chosen: int | None = 1,
        reduction: str = "sum",
        *,
        choose_from: Sequence[str] | None = None,
        label: str | None = None,
        key: str | None = None,
    ) -> None:
        super().__init__(label=label, key=key)
        if choose_from is not None:
            if n_candidates is not None and n_candidates != len(choose_from):
                raise ValueError(
                    f"n_candidates={n_candidates} disagrees with choose_from of length "
                    f"{len(choose_from)}"
                )
            n_candidates = len(choose_from)
        if n_candidates is None or n_candidates < 1:
            raise ValueError("InputChoice needs n_candidates >= 1 (or a choose_from list)")
        if n_chosen is not None and not 1 <= n_chosen <= n_candidates:
            raise ValueError(
                f"n_chosen={n_chosen} must be between 1 and n_candidates={n_candidates}, "
                "or None for any subset"
            )
        if reduction not in REDUCTIONS:
            raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
        self.n_candidates = n_candidates
        self.n_chosen = n_chosen
        self.reduction = reduction
        self.choose_from = [str(c) for c in choose_from] if choose_from is not None else None
        self._names = self.choose_from or [str(i) for i in range(n_candidates)]

    @property
    def names(self) -> list[str]:
        """Names of the candidate inputs: `choose_from`, or "0", "1", ..."""
        return list(self._names)

    def default_chosen(self) -> list[int]:
        """Indices used in standalone mode."""
        if self.n_chosen is not None:
            return list(range(self.n_chosen))
        return list(range(self.n_candidates if self.default_all else 1))

    def forward(self, inputs: Sequence[torch.Tensor] | Mapping[str, torch.Tensor]) -> Any:
        tensors = self.candidate_list(inputs)
        mutator = self.__dict__.get("_mutator")
        if mutator is not None:
            output, mask = mutator.on_forward_input_choice(self, tensors)
            return (output, mask) if self.return_mask else output
        chosen = self.default_chosen()
        output = reduce_tensors([tensors[i] for i in chosen], self.reduction)
        if not self.return_mask:  # every standalone forward but NNI v1's return_mask=True
            return output
        mask = torch.zeros(self.n_candidates, dtype=torch.bool)
        mask[chosen] = True
        return output, mask

    def candidate_list(
        self, inputs: Sequence[torch.Tensor] | Mapping[str, torch.Tensor]
    ) -> list[torch.Tensor]:
        """The candidate tensors as a list in candidate order, checking their number."""
        tensors = [inputs[n] for n in self.names] if isinstance(inputs, Mapping) else list(inputs)
        if len(tensors) != self.n_candidates:
            raise ValueError(
                f"InputChoice {self._explicit_label or self._derived_label!r} expects "
                f"{self.n_candidates} inputs, got {len(tensors)}"
            )
        return tensors

    def extra_repr(self) -> str:
        return (
            f"{super().extra_repr()}, n_candidates={self.n_candidates}, "
            f"n_chosen={self.n_chosen}, reduction={self.reduction!r}"
        )
