"""MutableScope: a named group of choices that mutators are told about on entry and exit."""

from __future__ import annotations

from typing import Any

import torch


class MutableScope(torch.nn.Module):
    """Subclass this (as in NNI) to group choices; a bound mutator's `enter_mutable_scope` and
    `exit_mutable_scope` run around its forward. Choices inside keep their own labels.
    """

    def __init__(self, label: str | None = None, *, key: str | None = None) -> None:
        super().__init__()
        if label is not None and key is not None and label != key:
            raise ValueError(f"label={label!r} and key={key!r} disagree; key is an alias of label")
        chosen = label if label is not None else key
        if not isinstance(chosen, str) or not chosen:
            raise ValueError(f"a MutableScope needs a label (a non-empty string), got {chosen!r}")
        self.label = chosen

    @property
    def key(self) -> str:
        """NNI's name for `label`."""
        return self.label

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        mutator = self.__dict__.get("_mutator")
        if mutator is None:
            return super().__call__(*args, **kwargs)
        mutator.enter_mutable_scope(self)
        try:
            return super().__call__(*args, **kwargs)
        finally:
            mutator.exit_mutable_scope(self)
