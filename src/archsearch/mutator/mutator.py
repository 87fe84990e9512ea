"""Mutator: decisions as masks, per step (`sample_search`) and at the end (`sample_final`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import torch

from archsearch.mutator.base import BaseMutator
from archsearch.nn.reduction import reduce_tensors
from archsearch.space import Architecture, InputChoiceDim, LayerChoiceDim, ValueChoiceDim

if TYPE_CHECKING:
    from archsearch.nn import InputChoice, LayerChoice, Mutable, Repeat

Mask = torch.Tensor | Sequence[bool] | Sequence[float]


class Mutator(BaseMutator):
    """A mutator whose decision for each label is a mask over that choice's candidates.

    A bool mask selects candidates; a float mask weights them (candidates with weight 0 are not
    run). Selected outputs are multiplied by their weights and reduced: summed for a LayerChoice
    (by its own reduction for an NNI v1 one), by its reduction for an InputChoice. Subclasses
    implement `sample_search` (called by `reset`, typically once per training step) and
    `sample_final` (the exported architecture).
    """

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__(model)
        self._cache: dict[str, torch.Tensor] = {}
        self._mask_sizes: dict[str, int] | None = None

    def sample_search(self) -> Mapping[str, Mask]:
        """Masks to use for the next forward passes, label → mask."""
        raise NotImplementedError

    def sample_final(self) -> Mapping[str, Mask]:
        """Masks of the final architecture, label → mask."""
        raise NotImplementedError

    def reset(self) -> None:
        """Apply a new `sample_search()` decision to the model."""
        self._cache = self.check_masks(self.sample_search())

    def export(self) -> Architecture:
        """`sample_final()` as a canonical, JSON-able architecture."""
        masks = self.check_masks(self.sample_final())
        return self.search_space.validate({k: m.tolist() for k, m in masks.items()})

    def check_masks(self, masks: Mapping[str, Mask]) -> dict[str, torch.Tensor]:
        """Masks as tensors, with one for every label and each of the right length."""
        sizes = self._mask_sizes
        if sizes is None:  # a Dimension computes its mask size anew at each call: keep them
            sizes = self._mask_sizes = {
                label: dim.mask_size for label, dim in self.search_space.items()
            }
        if len(masks) != len(sizes) or not all(label in sizes for label in masks):
            missing = [label for label in sizes if label not in masks]
            unknown = [label for label in masks if label not in sizes]
            raise ValueError(
                f"masks must cover exactly the labels {self.search_space.labels}; "
                f"missing {missing}, unknown {unknown}"
            )
        checked = {}
        for label, mask in masks.items():
            tensor = torch.as_tensor(mask)
            if tensor.dtype != torch.bool and not tensor.is_floating_point():
                # `[0, 1]` is a weight mask too: keep forward (weighted) and export (argmax) agreed.
                tensor = tensor.float()
            expected = sizes[label]
            if tensor.dim() != 1 or len(tensor) != expected:
                raise ValueError(
                    f"mask for label {label!r} has shape {tuple(tensor.shape)}; expected "
                    f"length {expected} ({_candidates(self.search_space[label])})"
                )
            checked[label] = tensor
        return checked

    def decision(self, mutable: Mutable) -> torch.Tensor:
        """The current mask of a choice module."""
        return self.decision_for(mutable.label)

    def decision_for(self, label: str) -> torch.Tensor:
        """The current mask of a label. Every forward hook reads decisions through here, so a
        subclass may compute them live instead (DARTS: a fresh softmax of its alphas per call,
        which keeps each forward's graph separate)."""
        try:
            return self._cache[label]
        except KeyError:
            raise RuntimeError(
                f"no decision for {label!r} yet: call mutator.reset() before forward"
            ) from None

    def on_forward_layer_choice(
        self, mutable: LayerChoice, *args: Any, **kwargs: Any
    ) -> tuple[Any, torch.Tensor]:
        mask = self.decision(mutable)
        selected = _selected(mask)
        if not selected:
            raise RuntimeError(f"the mask for LayerChoice {mutable.label!r} selects nothing")
        weighted = mask.dtype != torch.bool
        if mutable.reduction != "sum":  # an NNI v1 choice's own reduction (mean, concat, none)
            outputs = [mutable[i](*args, **kwargs) for i in selected]
            if weighted:
                outputs = [mask[i] * out for i, out in zip(selected, outputs, strict=True)]
            return reduce_tensors(outputs, mutable.reduction), mask
        # Each output is weighted and added as soon as it is computed, so that at most one
        # weighted output and the running sum are alive besides what autograd keeps: stacking
        # all of them first raised a DARTS step's peak memory by ~19%.
        total: Any = None
        for i in selected:
            output = mutable[i](*args, **kwargs)
            if weighted:
                output = mask[i] * output
            total = output if total is None else _add(total, output, mutable)
        return total, mask

    def on_forward_input_choice(
        self, mutable: InputChoice, tensor_list: list[torch.Tensor]
    ) -> tuple[Any, torch.Tensor]:
        mask = self.decision(mutable)
        selected = _selected(mask)
        chosen = [tensor_list[i] for i in selected]
        if mask.dtype != torch.bool:
            chosen = [mask[i] * tensor for i, tensor in zip(selected, chosen, strict=True)]
        return reduce_tensors(chosen, mutable.reduction), mask

    def on_forward_repeat(self, mutable: Repeat) -> int:
        mask = self.decision(mutable)
        index = int(mask.float().argmax())
        return mutable.depth_candidates()[index]


def _selected(mask: torch.Tensor) -> list[int]:
    """Indices of the non-zero entries (one host read, not one per entry)."""
    return [i for i, value in enumerate(mask.tolist()) if value]


def _add(total: Any, output: Any, mutable: LayerChoice) -> torch.Tensor:
    """`total + output` for the outputs of several candidates, which must be tensors of one
    shape (a sum must not broadcast, nor concatenate tuples)."""
    if not isinstance(total, torch.Tensor) or not isinstance(output, torch.Tensor):
        raise TypeError(
            f"LayerChoice {mutable.label!r} combines several candidates, so each must return a "
            f"tensor; got {type(total).__name__} and {type(output).__name__}"
        )
    if total.shape != output.shape:
        raise RuntimeError(
            f"candidates of LayerChoice {mutable.label!r} return different shapes "
            f"{tuple(total.shape)} and {tuple(output.shape)}, which cannot be summed"
        )
    return total + output


def _candidates(dim: Any) -> str:
    if isinstance(dim, LayerChoiceDim):
        return f"candidates {list(dim.names)}"
    if isinstance(dim, InputChoiceDim):
        return f"inputs {list(dim.names)}"
    assert isinstance(dim, ValueChoiceDim)
    return f"values {list(dim.values)}"
