"""NNI v1's mutables (`nni.nas.pytorch.mutables`) with v1's signatures and defaults.

`from nni.nas.pytorch.mutables import LayerChoice, InputChoice, MutableScope` becomes
`from archsearch.nn.v1 import ...`. The classes are subclasses of `archsearch.nn`'s, so search
spaces, mutators, one-shot trainers, `fix` and classic mode treat them alike; what differs is v1's
call shape: `InputChoice(n_candidates, choose_from, n_chosen=None, ...)` (any subset by default,
and every input in standalone mode), `reduction` on a LayerChoice and `return_mask=True`
(forward returns `(output, mask)`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

from archsearch.nn import input_choice, layer_choice
from archsearch.nn.mutable import Mutable
from archsearch.nn.reduction import REDUCTIONS
from archsearch.nn.scope import MutableScope

__all__ = ["InputChoice", "LayerChoice", "Mutable", "MutableScope"]


class LayerChoice(layer_choice.LayerChoice):
    """v1's LayerChoice: one of `op_candidates` (a list, or a dict name → module).

    When a mutator selects several candidates their outputs are combined by `reduction` ("sum",
    "mean", "concat" on dim 1, or "none": the list); with `return_mask=True` forward returns
    `(output, mask)`. `length` and `choices` are v1's attributes.
    """

    def __init__(
        self,
        op_candidates: Sequence[torch.nn.Module] | Mapping[str, torch.nn.Module],
        reduction: str = "sum",
        return_mask: bool = False,
        key: str | None = None,
    ) -> None:
        super().__init__(op_candidates, key=key)
        if reduction not in REDUCTIONS:
            raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
        self.reduction = reduction
        self.return_mask = return_mask


class InputChoice(input_choice.InputChoice):
    """v1's InputChoice: `n_chosen=None` (the default) chooses any subset of the inputs.

    `choose_from` names the candidates by the keys of their sources (`NO_KEY` where there is
    none; such inputs are named by their index). Standalone, every input is used for
    `n_chosen=None` (v1's "first ones"), the first `n_chosen` otherwise.
    """

    NO_KEY = ""
    default_all = True

    def __init__(
        self,
        n_candidates: int | None = None,
        choose_from: Sequence[str] | None = None,
        n_chosen: int | None = None,
        reduction: str = "sum",
        return_mask: bool = False,
        key: str | None = None,
    ) -> None:
        if choose_from is None:
            if n_candidates is None:
                raise ValueError("InputChoice needs n_candidates or choose_from")
            choose_from = [self.NO_KEY] * n_candidates
        keys = [str(k) for k in choose_from]
        names = [k if k != self.NO_KEY else str(i) for i, k in enumerate(keys)]
        if len(set(names)) != len(names):
            raise ValueError(
                f"choose_from keys must be distinct (NO_KEY entries are named by index), got {keys}"
            )
        super().__init__(n_candidates, n_chosen, reduction, choose_from=names, key=key)
        self.choose_from = keys  # v1's source keys, NO_KEY included; `names` are the names above
        self.return_mask = return_mask
