"""Mutable: the base of choice modules (LayerChoice, InputChoice, Repeat).

A mutable carries an optional explicit label and, while a mutator is bound to the model, a
reference to it. With no mutator the model runs its first candidates (standalone mode).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from archsearch.nn.value_choice import Labelled

if TYPE_CHECKING:
    from archsearch.mutator.base import BaseMutator


class Mutable(torch.nn.Module, Labelled):
    """A module whose behaviour depends on a decision identified by its label."""

    _label_hint = "/ bind a mutator first"

    def __init__(self, *, label: str | None = None, key: str | None = None) -> None:
        super().__init__()
        self._set_label(label, key)

    def __getattr__(self, name: str) -> Any:
        # nn.Module.__getattr__ would replace the property's explanation by "no attribute".
        if name in ("label", "key"):
            raise AttributeError(self._no_label_message())
        return super().__getattr__(name)

    @property
    def mutator(self) -> BaseMutator | None:
        """The mutator deciding this choice, or None in standalone mode."""
        # Kept in __dict__ rather than as a submodule, so the mutator's parameters never become
        # the model's parameters; a deep copy of the model copies the binding along with it.
        found: BaseMutator | None = self.__dict__.get("_mutator")
        return found

    def extra_repr(self) -> str:
        label = self._explicit_label or self._derived_label
        return f"label={label!r}"
