"""Weight-sharing Linear, BatchNorm, LayerNorm and parameter-free layers (dropout, pooling).

Slicing follows `archsearch.nn.weights.copy_overlap`, which `archsearch.fix(...,
inherit_weights=True)` uses: leading features and channels. So a sliced forward computes exactly
what the fixed layer computes.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn.modules.batchnorm import _BatchNorm

from archsearch.nn import layers
from archsearch.nn.choice_args import ChoiceArgs
from archsearch.oneshot.sliced.base import (
    Block,
    Combos,
    Key,
    SharedLayer,
    Unsupported,
    channel_view,
    leading_table,
)


def _leading(size: int, full: int) -> Block | None:
    return None if size == full else (slice(0, size),)


class SharedLinear(SharedLayer, layers.Linear):
    """Linear at the largest in/out features; a choice uses the leading rows and columns."""

    cut_names = ("weight", "bias")

    @classmethod
    def max_arguments(cls, combos: Combos, mode: str) -> dict[str, Any]:
        combos.check(("in_features", "out_features"), "Linear")
        args = dict(combos.values[0])
        args["in_features"] = max(combos.column("in_features"))
        args["out_features"] = max(combos.column("out_features"))
        return args

    def prepare(self, combos: Combos, module: ChoiceArgs) -> None:
        outs, ins = combos.column("out_features"), combos.column("in_features")
        full = (self.out_features, self.in_features)
        for key, o, i in zip(combos.keys, outs, ins, strict=True):
            weight = None if (o, i) == full else (slice(0, o), slice(0, i))
            self.set_blocks(key, (weight, None if self.bias is None else _leading(o, full[0])))
        if self._mode == "mix" and len(set(outs)) > 1:
            self._tables["out"] = leading_table(outs, self.out_features)

    def forward_slice(self, input: Tensor, key: Key) -> Tensor:
        weight, bias = self.cut(key)
        assert weight is not None
        return F.linear(input, weight, bias)

    def forward_mix(self, input: Tensor, masks: list[Tensor]) -> Tensor:
        # Inputs beyond the chosen width arrive as zeros from the (masked) layer before.
        output = F.linear(input, self.weight, self.bias)
        out = self.mixed("out", self.joint(masks, self.weight))
        return output if out is None else output * out


class _SharedBatchNorm(SharedLayer, _BatchNorm):
    """BatchNorm at the largest num_features; a choice normalises with the leading statistics,
    weight and bias, and updates only the running statistics of its channels."""

    cut_names = ("weight", "bias", "running_mean", "running_var")
    input_dims: ClassVar[tuple[int, ...]]

    def _check_dims(self, input: Tensor) -> None:
        if input.dim() not in self.input_dims:
            expected = " or ".join(f"{d}D" for d in self.input_dims)
            raise ValueError(f"expected {expected} input (got {input.dim()}D input)")

    @classmethod
    def max_arguments(cls, combos: Combos, mode: str) -> dict[str, Any]:
        combos.check(("num_features",), cls.plain_class().__name__)
        args = dict(combos.values[0])
        args["num_features"] = max(combos.column("num_features"))
        return args

    def prepare(self, combos: Combos, module: ChoiceArgs) -> None:
        sizes = combos.column("num_features")
        present = [getattr(self, name) is not None for name in self.cut_names]
        for key, n in zip(combos.keys, sizes, strict=True):
            block = _leading(n, self.num_features)
            self.set_blocks(key, [block if p else None for p in present])
        if self._mode == "mix":
            self._tables["out"] = leading_table(sizes, self.num_features)

    def _step(self) -> tuple[float, bool, bool]:
        """torch's BatchNorm bookkeeping: (averaging factor, use batch stats, use running stats)."""
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked.add_(1)
            factor = (
                1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
            )
        batch_stats = self.training or (self.running_mean is None and self.running_var is None)
        return factor, batch_stats, not self.training or self.track_running_stats

    def forward_slice(self, input: Tensor, key: Key) -> Tensor:
        self._check_dims(input)
        factor, batch_stats, running = self._step()
        # The cut running buffers are views: batch_norm updates the chosen channels in place.
        weight, bias, mean, var = self.cut(key)
        if not running:
            mean = var = None
        return F.batch_norm(input, mean, var, weight, bias, batch_stats, factor, self.eps)

    def forward_mix(self, input: Tensor, masks: list[Tensor]) -> Tensor:
        self._check_dims(input)
        factor, batch_stats, running = self._step()
        out = self.mixed("out", self.joint(masks, input))
        assert out is not None  # num_features is this layer's only choice
        mean, var = (self.running_mean, self.running_var) if running else (None, None)
        if batch_stats and mean is not None and var is not None:
            # Channels beyond the chosen width see zeros: update copies of the statistics, then
            # keep only the channels that have a non-zero weight.
            new_mean, new_var = mean.clone(), var.clone()
            output = F.batch_norm(
                input, new_mean, new_var, self.weight, self.bias, True, factor, self.eps
            )
            with torch.no_grad():
                keep = out != 0
                mean.copy_(torch.where(keep, new_mean, mean))
                var.copy_(torch.where(keep, new_var, var))
        else:
            output = F.batch_norm(
                input, mean, var, self.weight, self.bias, batch_stats, factor, self.eps
            )
        # Masking after the affine part: the bias of unused channels must not leak.
        return output * channel_view(out, output.dim())


class SharedBatchNorm1d(_SharedBatchNorm, layers.BatchNorm1d):
    """Weight-sharing BatchNorm1d."""

    input_dims = (2, 3)


class SharedBatchNorm2d(_SharedBatchNorm, layers.BatchNorm2d):
    """Weight-sharing BatchNorm2d."""

    input_dims = (4,)


class SharedBatchNorm3d(_SharedBatchNorm, layers.BatchNorm3d):
    """Weight-sharing BatchNorm3d."""

    input_dims = (5,)


class SharedLayerNorm(SharedLayer, layers.LayerNorm):
    """LayerNorm at the largest normalized_shape (one dimension, or two when slicing only)."""

    cut_names = ("weight", "bias")
    _shapes: dict[Key, tuple[int, ...]]

    @classmethod
    def max_arguments(cls, combos: Combos, mode: str) -> dict[str, Any]:
        combos.check(("normalized_shape",), "LayerNorm")
        shapes = [_shape(s) for s in combos.column("normalized_shape")]
        if len({len(s) for s in shapes}) != 1 or len(shapes[0]) > (1 if mode == "mix" else 2):
            # copy_overlap centres dimensions from the third on, and masking needs one dimension.
            reason = "its length must not vary, and be 1 (2 when slicing)"
            raise Unsupported("normalized_shape", reason)
        args = dict(combos.values[0])
        args["normalized_shape"] = tuple(max(d) for d in zip(*shapes, strict=True))
        return args

    def prepare(self, combos: Combos, module: ChoiceArgs) -> None:
        full = self.normalized_shape
        shapes = [_shape(s) for s in combos.column("normalized_shape")]
        self._shapes = dict(zip(combos.keys, shapes, strict=True))
        present = [getattr(self, name) is not None for name in self.cut_names]
        for key, shape in self._shapes.items():
            block = None if shape == full else tuple(slice(0, n) for n in shape)
            self.set_blocks(key, [block if p else None for p in present])
        if self._mode == "mix":
            self._tables["out"] = leading_table([s[0] for s in shapes], full[0])

    def forward_slice(self, input: Tensor, key: Key) -> Tensor:
        weight, bias = self.cut(key)
        return F.layer_norm(input, self._shapes[key], weight, bias, self.eps)

    def forward_mix(self, input: Tensor, masks: list[Tensor]) -> Tensor:
        # Statistics over the features weighted by the mask: for a one-hot decision, exactly the
        # chosen leading features (the others arrive as zeros and are masked again on output).
        out = self.mixed("out", self.joint(masks, input))
        assert out is not None
        total = out.sum()
        mean = (input * out).sum(-1, keepdim=True) / total
        var = ((input - mean) ** 2 * out).sum(-1, keepdim=True) / total
        output = (input - mean) / torch.sqrt(var + self.eps)
        if self.weight is not None:
            output = output * self.weight
        if self.bias is not None:
            output = output + self.bias
        return output * out


def _shape(value: Any) -> tuple[int, ...]:
    return (value,) if isinstance(value, int) else tuple(value)


class _SharedStateless(SharedLayer):
    """A parameter-free layer (dropout, pooling): one prebuilt torch layer per combination.

    Slicing runs the chosen one; mixing sums the outputs of those with a non-zero weight, each
    scaled by its weight, as a DARTS LayerChoice does.
    """

    _variants: dict[Key, torch.nn.Module]
    _keys: list[Key]

    def prepare(self, combos: Combos, module: ChoiceArgs) -> None:
        plain = self.plain_class()
        variants = {}
        for key, values in zip(combos.keys, combos.values, strict=True):
            if self._mode == "mix" and values.get("inplace"):
                values = {**values, "inplace": False}  # every variant reads the same input
            variants[key] = plain(**values)
        # Not submodules: they hold no state, and the model's module tree must not change.
        self._variants = variants
        self._keys = combos.keys

    def forward_slice(self, input: Tensor, key: Key) -> Tensor:
        variant = self._variants[key]
        variant.training = self.training
        output: Tensor = variant(input)
        return output

    def forward_mix(self, input: Tensor, masks: list[Tensor]) -> Tensor:
        joint = self.joint(masks, input)
        total: Tensor | None = None
        for key, weight, w in zip(self._keys, joint.tolist(), joint, strict=True):
            if weight != 0:
                term = w * self.forward_slice(input, key)
                total = term if total is None else total + term
        if total is None:
            raise RuntimeError("the decision for a value choice gives every candidate weight 0")
        return total


# fmt: off
class SharedDropout(_SharedStateless, layers.Dropout):
    """Weight-sharing (stateless) Dropout."""
class SharedDropout1d(_SharedStateless, layers.Dropout1d):
    """Weight-sharing (stateless) Dropout1d."""
class SharedDropout2d(_SharedStateless, layers.Dropout2d):
    """Weight-sharing (stateless) Dropout2d."""
class SharedDropout3d(_SharedStateless, layers.Dropout3d):
    """Weight-sharing (stateless) Dropout3d."""
class SharedAlphaDropout(_SharedStateless, layers.AlphaDropout):
    """Weight-sharing (stateless) AlphaDropout."""
class SharedMaxPool1d(_SharedStateless, layers.MaxPool1d):
    """Weight-sharing (stateless) MaxPool1d."""
class SharedMaxPool2d(_SharedStateless, layers.MaxPool2d):
    """Weight-sharing (stateless) MaxPool2d."""
class SharedMaxPool3d(_SharedStateless, layers.MaxPool3d):
    """Weight-sharing (stateless) MaxPool3d."""
class SharedAvgPool1d(_SharedStateless, layers.AvgPool1d):
    """Weight-sharing (stateless) AvgPool1d."""
class SharedAvgPool2d(_SharedStateless, layers.AvgPool2d):
    """Weight-sharing (stateless) AvgPool2d."""
class SharedAvgPool3d(_SharedStateless, layers.AvgPool3d):
    """Weight-sharing (stateless) AvgPool3d."""
# fmt: on
