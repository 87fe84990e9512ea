"""The common part of weight-sharing layers: combinations of value choices and decision reading.

A weight-sharing layer is the torch layer built at the largest size any combination of its value
choices asks for. Under a mutator it reads one decision per label (`Mutator.decision_for`) and
either slices its weights to the chosen size ("slice": a one-hot decision) or masks its output
and kernels by the decision weights ("mix": float weights, differentiable). Standalone it runs the
first candidates, like the layer it replaced.
"""

from __future__ import annotations

import inspect
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor

from archsearch.nn.choice_args import ChoiceArgs
from archsearch.nn.value_choice import ValueChoice, find_leaves, resolve
from archsearch.nn.weights import copy_overlap

Key = tuple[int, ...]
"""One combination: a candidate index per label, in `Combos.labels` order."""

Block = tuple[slice, ...]
"""The part of a tensor one combination uses: a `slice(start, stop)` per dimension."""


class Unsupported(Exception):
    """A layer argument weight sharing cannot follow; `to_supernet` reports it as a TypeError."""

    def __init__(self, argument: str | None, reason: str) -> None:
        super().__init__(reason)
        self.argument = argument
        self.reason = reason


class Combos:
    """Every combination of the candidates of a layer's value choices, with its arguments.

    Sizes and slicing plans are computed for each combination, so the maximal layer is the
    element-wise maximum over all of them: no monotonicity is assumed (`16 - width` works). The
    product space of one layer is small in practice; above `limit` combinations it is refused.
    """

    limit: ClassVar[int] = 4096

    def __init__(self, module: ChoiceArgs, label_of: Mapping[int, str]) -> None:
        args, kwargs = module.__dict__["_choice_args"]
        bound = inspect.signature(module.plain_class()).bind(*args, **kwargs)
        bound.apply_defaults()
        self.arguments: dict[str, Any] = dict(bound.arguments)
        """Constructor arguments by name (defaults included), value choices unresolved."""
        leaves: dict[str, ValueChoice] = {}
        self.choice_names: list[str] = []
        """Names of the arguments that contain a value choice."""
        for name, value in self.arguments.items():
            found = [leaf for _, leaf in find_leaves(value, name)]
            if found:
                self.choice_names.append(name)
            for leaf in found:
                leaves.setdefault(label_of[id(leaf)], leaf)
        self.labels = list(leaves)
        self.leaves = list(leaves.values())
        sizes = [len(leaf.candidates) for leaf in self.leaves]
        if math.prod(sizes) > self.limit:
            raise Unsupported(None, f"more than {self.limit} combinations of values in one layer")
        self.keys: list[Key] = list(itertools.product(*(range(n) for n in sizes)))
        position = {label: i for i, label in enumerate(self.labels)}

        def resolved(key: Key) -> dict[str, Any]:
            def value_of(leaf: ValueChoice) -> Any:
                return leaf.candidates[key[position[label_of[id(leaf)]]]]

            result: dict[str, Any] = resolve(self.arguments, value_of)
            return result

        self.values: list[dict[str, Any]] = [resolved(key) for key in self.keys]
        """The concrete arguments of each combination, in `keys` order (the first: defaults)."""

    def column(self, name: str) -> list[Any]:
        """The value of one argument in every combination."""
        return [v[name] for v in self.values]

    def check(self, supported: Sequence[str], owner: str) -> None:
        """Refuse choices in arguments other than `supported`."""
        for name in self.choice_names:
            if name not in supported:
                raise Unsupported(name, f"{owner} slices only {', '.join(supported)}")


Stamp = tuple[int, int, bool, torch.Size]
"""What a view was cut from: the tensor's id, data pointer, `requires_grad` and shape."""


@dataclass(slots=True)
class _Cut:
    """The views of one combination, and a stamp of what they were cut from (to notice a tensor
    replaced, given other data, or switched to `requires_grad=False`). The views keep their
    sources alive, so an `id` in a stamp cannot be reused while the stamp is kept."""

    stamps: tuple[Stamp | None, ...]
    views: tuple[Tensor | None, ...]


class ViewCache(dict[tuple[Key, bool], _Cut]):
    """Views per (combination, grad mode). Copies and pickles start empty: a view belongs to
    the tensors it was cut from, and a copied layer has its own."""

    def __deepcopy__(self, memo: dict[int, Any]) -> ViewCache:
        return ViewCache()

    def __reduce__(self) -> tuple[type[ViewCache], tuple[()]]:
        return (ViewCache, ())


def _stamps(tensors: Sequence[Tensor | None]) -> tuple[Stamp | None, ...]:
    return tuple(
        None if t is None else (id(t), t.data_ptr(), t.requires_grad, t.shape) for t in tensors
    )


@dataclass(slots=True)
class _Decoded:
    """The last mask seen for one label and its candidate index, so that a decision is decoded
    (a host read of the mask) once per `mutator.reset()`, not once per forward."""

    mask: Tensor | None = None
    version: int = -1
    index: int = 0


class SharedLayer(ChoiceArgs):
    """Mixin (first base) of the weight-sharing layers: conversion and decision reading.

    Keeps the original `_choice_args`, so the search space and `archsearch.fix` see the layer
    exactly as before conversion (the fixed model inherits the overlapping slice of the weights).
    """

    weight_sharing: ClassVar[bool] = True
    """Tells mutators that this layer follows their value-choice decisions."""

    cut_names: ClassVar[tuple[str, ...]] = ()
    """The parameters and buffers that `cut` slices, in the order `_blocks` gives their blocks."""

    _blocks: dict[Key, tuple[Block | None, ...]]
    _views: ViewCache
    _leaves: list[ValueChoice]
    _decoded: list[_Decoded]
    _default: Key
    _mode: str
    _tables: dict[str, Tensor]
    _table_cache: dict[tuple[str, torch.device, torch.dtype], Tensor]

    @classmethod
    def max_arguments(cls, combos: Combos, mode: str) -> dict[str, Any]:
        """Constructor arguments of the maximal layer (raises Unsupported)."""
        return dict(combos.values[0])

    def prepare(self, combos: Combos, module: ChoiceArgs) -> None:
        """Compute the per-combination plans (slice) and tables (mix); raises Unsupported."""

    @classmethod
    def convert(cls, module: ChoiceArgs, combos: Combos, mode: str) -> SharedLayer:
        """A new maximal layer holding `module`'s values in its overlapping slice.

        `module` is left untouched; `adopt` later moves the data into its Parameter objects.
        """
        layer = cls.__new__(cls)
        cls.plain_class().__init__(layer, **cls.max_arguments(combos, mode))
        layer.__dict__["_choice_args"] = module.__dict__["_choice_args"]
        layer.train(module.training)
        _match_tensors(layer, module)
        copy_overlap(layer, module)
        layer._leaves = combos.leaves
        layer._decoded = [_Decoded() for _ in combos.leaves]
        layer._default = combos.keys[0]
        layer._mode = mode
        layer._tables = {}
        layer._table_cache = {}
        layer._blocks = {}
        layer._views = ViewCache()
        layer.prepare(combos, module)
        return layer

    def adopt(self, module: torch.nn.Module) -> None:
        """Take over `module`'s Parameter objects, resized to this layer's data, so that an
        optimizer built over the original model keeps updating the shared weights (its state
        for them, if any, has the old shapes and is not converted)."""
        for name, new in list(self._parameters.items()):
            old = module._parameters.get(name)
            if old is not None and new is not None:
                old.data = new.data
                old.grad = None
                self._parameters[name] = old

    # ----- decisions, per forward ------------------------------------------------------------

    def forward(self, input: Tensor) -> Tensor:
        masks = self.masks()
        if masks is not None and self._mode == "mix" and any(m.dtype != torch.bool for m in masks):
            return self.forward_mix(input, masks)
        return self.forward_slice(input, self.key(masks))

    def forward_slice(self, input: Tensor, key: Key) -> Tensor:
        """The layer at the sizes of combination `key`, on sliced weights."""
        raise NotImplementedError

    def forward_mix(self, input: Tensor, masks: list[Tensor]) -> Tensor:
        """The maximal layer, masked by the decision weights (one float mask per label)."""
        raise NotImplementedError

    def cut(self, key: Key) -> tuple[Tensor | None, ...]:
        """The tensors named by `cut_names` at the sizes of combination `key` (the tensors
        themselves where nothing is cut).

        A cut is one strided view, made once per combination and grad mode and reused by later
        steps: a view of a parameter has no state of its own (the optimizer's in-place updates
        show through it, and its backward node saves nothing), so only building it, ~5 µs per
        tensor, would be repeated. It is rebuilt when a tensor is replaced or moved.
        """
        params, buffers = self._parameters, self._buffers
        sources = tuple(params[n] if n in params else buffers.get(n) for n in self.cut_names)
        blocks = self._blocks.get(key)
        if blocks is None:
            return sources
        if torch.is_inference_mode_enabled():  # inference views must not outlive the mode
            return _cut_all(sources, blocks)
        cache_key = (key, torch.is_grad_enabled())
        entry = self._views.get(cache_key)
        stamps = _stamps(sources)
        if entry is None or entry.stamps != stamps:
            if entry is not None:  # a tensor changed: every cached view is stale
                self._views.clear()
            entry = _Cut(stamps, _cut_all(sources, blocks))
            self._views[cache_key] = entry
        return entry.views

    def set_blocks(self, key: Key, blocks: Sequence[Block | None]) -> None:
        """What `cut(key)` slices: a block per name of `cut_names` (None: the whole tensor)."""
        if any(block is not None for block in blocks):
            self._blocks[key] = tuple(blocks)

    def masks(self) -> list[Tensor] | None:
        """The bound mutator's current mask for each label, or None standalone."""
        mutator = self.__dict__.get("_mutator")
        if mutator is None:
            return None
        # Labels are read live: a later walk from another root may rename derived labels.
        return [mutator.decision_for(leaf.label) for leaf in self._leaves]

    def key(self, masks: list[Tensor] | None) -> Key:
        """The combination the masks select (the largest weight per label)."""
        if masks is None:
            return self._default
        key = []
        for state, mask in zip(self._decoded, masks, strict=True):
            try:
                version = mask._version
            except RuntimeError:  # inference tensors have no version counter: decode each time
                version = -1
            if state.mask is not mask or state.version != version or version < 0:
                values = mask.tolist()
                state.mask, state.version, state.index = mask, version, values.index(max(values))
            key.append(state.index)
        return tuple(key)

    def joint(self, masks: list[Tensor], like: Tensor) -> Tensor:
        """The weight of every combination (product of the labels' weights), in `keys` order:
        a derived expression over several labels gets their product distribution."""
        joint = masks[0].to(device=like.device, dtype=like.dtype)
        for mask in masks[1:]:
            weights = mask.to(device=like.device, dtype=like.dtype)
            joint = (joint[:, None] * weights[None, :]).reshape(-1)
        return joint

    def table(self, name: str, like: Tensor) -> Tensor | None:
        """A per-combination table (rows in `keys` order) on `like`'s device and dtype."""
        table = self._tables.get(name)
        if table is None:
            return None
        cache_key = (name, like.device, like.dtype)
        cached = self._table_cache.get(cache_key)
        if cached is None:
            cached = self._table_cache[cache_key] = table.to(device=like.device, dtype=like.dtype)
        return cached

    def mixed(self, name: str, joint: Tensor) -> Tensor | None:
        """Expected value of table `name` under the combination weights `joint`."""
        table = self.table(name, joint)
        return None if table is None else joint @ table


def _match_tensors(layer: torch.nn.Module, module: torch.nn.Module) -> None:
    """Give the new layer's tensors the device and dtype of the ones they replace (before
    copying values, so a float64 model loses no precision)."""
    for mine, theirs in (
        (layer._parameters, module._parameters),
        (layer._buffers, module._buffers),
    ):
        for name, tensor in mine.items():
            other = theirs.get(name)
            if tensor is not None and other is not None:
                tensor.data = tensor.data.to(device=other.device, dtype=other.dtype)


def leading_table(sizes: Sequence[int], width: int) -> Tensor:
    """Row per combination: 1 for the first `size` of `width` channels, else 0."""
    return (torch.arange(width)[None, :] < torch.tensor(list(sizes))[:, None]).float()


def channel_view(mask: Tensor, dims: int, channel_dim: int = 1) -> Tensor:
    """`mask` shaped to broadcast over channel dimension `channel_dim` of a `dims`-D tensor."""
    shape = [1] * dims
    shape[channel_dim] = -1
    return mask.view(shape)


def _cut_all(
    tensors: Sequence[Tensor | None], blocks: Sequence[Block | None]
) -> tuple[Tensor | None, ...]:
    return tuple(
        t if t is None or b is None else block_view(t, b)
        for t, b in zip(tensors, blocks, strict=True)
    )


def block_view(tensor: Tensor, block: Block) -> Tensor:
    """`tensor[block]` for one `slice(start, stop)` per dimension, as a single strided view:
    one autograd node however many dimensions are cut (indexing makes one per dimension, and
    the backward pass of each zero-fills and copies a gradient of its input's size)."""
    strides = tensor.stride()
    offset = tensor.storage_offset()
    for cut, stride in zip(block, strides, strict=True):
        offset += cut.start * stride
    return tensor.as_strided([cut.stop - cut.start for cut in block], strides, offset)
