"""LayerChoice: choose one of several candidate modules."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import torch

from archsearch.nn.mutable import Mutable


class LayerChoice(Mutable):
    """One of `candidates` runs in the place of this module.

    `candidates` is a list (names "0", "1", ...) or a dict name → module. Candidates can be read
    by index, name or slice, replaced and deleted. Standalone, the first candidate runs; under a
    mutator, the mutator decides (and may mix several, e.g. DARTS); `archsearch.fix` replaces the
    whole choice by the chosen candidate.
    """

    reduction: str = "sum"
    """How a mutator combines several selected candidates (v1's `reduction`; always "sum" here)."""
    return_mask: bool = False
    """Whether forward returns `(output, mask)` (v1's `return_mask`); never for this class."""

    def __init__(
        self,
        candidates: Sequence[torch.nn.Module] | Mapping[str, torch.nn.Module],
        *,
        label: str | None = None,
        key: str | None = None,
    ) -> None:
        super().__init__(label=label, key=key)
        items = (
            list(candidates.items())
            if isinstance(candidates, Mapping)
            else [(str(i), m) for i, m in enumerate(candidates)]
        )
        if not items:
            raise ValueError("LayerChoice needs at least one candidate")
        for name, module in items:
            if not isinstance(module, torch.nn.Module):
                raise TypeError(
                    f"LayerChoice candidate {name!r} is a {type(module).__name__}, not an nn.Module"
                )
            self.add_module(name, module)

    @property
    def names(self) -> list[str]:
        """Candidate names, in order."""
        return list(self._modules)

    def __len__(self) -> int:
        return len(self._modules)

    @property
    def length(self) -> int:
        """NNI's name for `len(choice)`: the number of candidates."""
        return len(self)

    @property
    def choices(self) -> list[torch.nn.Module]:
        """NNI's name for the candidate modules, in order."""
        return self._candidates()

    def __iter__(self) -> Iterator[torch.nn.Module]:
        return iter(self._candidates())

    def __getitem__(self, idx: int | str | slice) -> Any:
        if isinstance(idx, slice):
            return self._candidates()[idx]
        return self._modules[self._name(idx)]

    def __setitem__(self, idx: int | str, module: torch.nn.Module) -> None:
        name = idx if isinstance(idx, str) else self._name(idx)
        self.add_module(name, module)

    def __delitem__(self, idx: int | str | slice) -> None:
        names = self.names[idx] if isinstance(idx, slice) else [self._name(idx)]
        if len(names) == len(self):
            raise ValueError(f"cannot delete every candidate of LayerChoice {self._label_text()}")
        for name in names:
            del self._modules[name]

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        mutator = self.__dict__.get("_mutator")
        if mutator is not None:
            output, mask = mutator.on_forward_layer_choice(self, *args, **kwargs)
            return (output, mask) if self.return_mask else output
        output = self[0](*args, **kwargs)
        if self.reduction == "none":
            output = [output]
        # The mask is built only when asked for: this is every standalone forward.
        return (output, torch.arange(len(self)) == 0) if self.return_mask else output

    def _candidates(self) -> list[torch.nn.Module]:
        return [m for m in self._modules.values() if m is not None]

    def _name(self, idx: int | str) -> str:
        names = self.names
        if isinstance(idx, str):
            if idx not in self._modules:
                raise KeyError(
                    f"LayerChoice {self._label_text()} has no candidate {idx!r}; names: {names}"
                )
            return idx
        if not -len(names) <= idx < len(names):
            raise IndexError(
                f"LayerChoice {self._label_text()} has {len(names)} candidates; index {idx} "
                "is out of range"
            )
        return names[idx]

    def _label_text(self) -> str:
        return repr(self._explicit_label or self._derived_label or "(unlabelled)")
