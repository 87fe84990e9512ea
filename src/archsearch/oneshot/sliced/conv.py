"""Weight-sharing Conv1d/2d/3d: one maximal kernel bank, sliced (leading channels, centred
kernels, as `archsearch.nn.weights.copy_overlap` inherits them) or masked."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn.modules.conv import _ConvNd

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

_SHAPES = ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups")
_CONV: dict[int, Callable[..., Tensor]] = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


@dataclass(frozen=True)
class _Geometry:
    """The concrete arguments of one combination, normalised to tuples."""

    out: int
    in_: int
    groups: int
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...] | str
    dilation: tuple[int, ...]

    def sides(self) -> list[tuple[int, int]]:
        """(left, right) zero padding per spatial dimension, as torch pads."""
        if isinstance(self.padding, tuple):
            return [(p, p) for p in self.padding]
        if self.padding == "valid":
            return [(0, 0)] * len(self.kernel)
        totals = [d * (k - 1) for k, d in zip(self.kernel, self.dilation, strict=True)]
        return [(t // 2, t - t // 2) for t in totals]


@dataclass(frozen=True)
class _Plan:
    """How to run one combination: weight and bias blocks (None: whole) and conv arguments."""

    weight: Block | None
    bias: Block | None
    stride: tuple[int, ...]
    padding: tuple[int, ...] | str | int
    dilation: tuple[int, ...]
    groups: int
    pad: tuple[int, ...] | None
    """Explicit F.pad amounts, for a padding_mode other than zeros."""


def _tuple(value: Any, n: int) -> tuple[int, ...]:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * n


def _geometry(values: dict[str, Any], n: int) -> _Geometry:
    padding = values["padding"]
    geo = _Geometry(
        values["out_channels"],
        values["in_channels"],
        values["groups"],
        _tuple(values["kernel_size"], n),
        _tuple(values["stride"], n),
        padding if isinstance(padding, str) else _tuple(padding, n),
        _tuple(values["dilation"], n),
    )
    if geo.in_ % geo.groups or geo.out % geo.groups:
        reason = "in_channels and out_channels must be divisible by groups in every combination"
        raise Unsupported("groups", reason)
    return geo


class _SharedConv(SharedLayer, _ConvNd):
    """Convolution at the largest channels and kernel; see the module docstring."""

    dims: ClassVar[int]
    cut_names = ("weight", "bias")
    _plans: dict[Key, _Plan]
    _mix: _Plan

    @classmethod
    def max_arguments(cls, combos: Combos, mode: str) -> dict[str, Any]:
        combos.check(_SHAPES, cls.plain_class().__name__)
        geos = [_geometry(v, cls.dims) for v in combos.values]
        top_out, top_in = max(g.out for g in geos), max(g.in_ for g in geos)
        per_group = max(g.in_ // g.groups for g in geos)
        groups = top_in // per_group
        if top_in % per_group or top_out % groups:
            # No common grouping: an ungrouped bank wide enough for every combination.
            top_in, groups = per_group, 1
        kernel = tuple(max(k) for k in zip(*(g.kernel for g in geos), strict=True))
        # The other arguments (padding, for the repr) of a combination with the largest kernel.
        widest = next((i for i, g in enumerate(geos) if g.kernel == kernel), 0)
        args = dict(combos.values[widest])
        args.update(in_channels=top_in, out_channels=top_out, groups=groups, kernel_size=kernel)
        return args

    def prepare(self, combos: Combos, module: ChoiceArgs) -> None:
        geos = [_geometry(v, self.dims) for v in combos.values]
        self._plans = {k: self._plan(g) for k, g in zip(combos.keys, geos, strict=True)}
        for key, plan in self._plans.items():
            self.set_blocks(key, (plan.weight, None if self.bias is None else plan.bias))
        if self._mode == "mix":
            self._prepare_mix(geos)

    def _plan(self, geo: _Geometry, whole: bool = False) -> _Plan:
        shape = (geo.out, geo.in_ // geo.groups, *geo.kernel)
        weight = None
        if not whole and shape != tuple(self.weight.shape):
            starts = [(top - k) // 2 for top, k in zip(self.kernel_size, geo.kernel, strict=True)]
            centred = [slice(s, s + k) for s, k in zip(starts, geo.kernel, strict=True)]
            weight = (slice(0, shape[0]), slice(0, shape[1]), *centred)
        bias = None if whole or geo.out == self.out_channels else (slice(0, geo.out),)
        pad = None
        if self.padding_mode != "zeros":
            pad = tuple(x for side in reversed(geo.sides()) for x in side)
        padding = 0 if pad is not None else geo.padding
        groups = self.groups if whole else geo.groups
        return _Plan(weight, bias, geo.stride, padding, geo.dilation, groups, pad)

    def _prepare_mix(self, geos: list[_Geometry]) -> None:
        """Check that every combination is the maximal convolution with a masked kernel and
        masked output channels, and build the two mask tables."""
        for name in ("stride", "dilation"):
            if len({getattr(g, name) for g in geos}) > 1:
                raise Unsupported(name, "when mixing, outputs of different sizes cannot be summed")
        if any(g.groups != 1 for g in geos) and (
            len({g.out // g.groups for g in geos}) > 1 or len({g.in_ // g.groups for g in geos}) > 1
        ):
            raise Unsupported("groups", "when mixing, groups must be 1 or keep channels per group")
        top = tuple(self.kernel_size)
        widest = [g for g in geos if g.kernel == top]
        kernels_vary = len({g.kernel for g in geos}) > 1
        if not widest or (kernels_vary and self.padding_mode != "zeros"):
            reason = "when mixing, one combination must have the largest kernel (zero padding)"
            raise Unsupported("kernel_size", reason)
        reference = widest[0].sides()
        for geo in geos:
            for dim, (left, right) in enumerate(geo.sides()):
                grow = geo.dilation[dim] * (top[dim] - geo.kernel[dim])
                if grow % 2 or reference[dim] != (left + grow // 2, right + grow // 2):
                    reason = (
                        "when mixing, a smaller kernel is the centre of the largest, so it needs "
                        "padding smaller by dilation*(difference)/2 (e.g. padding=kernel//2, odd "
                        "kernels)"
                    )
                    raise Unsupported("padding" if grow == 0 else "kernel_size", reason)
        self._mix = self._plan(widest[0], whole=True)
        outs = [g.out for g in geos]
        if len(set(outs)) > 1:
            self._tables["out"] = leading_table(outs, self.out_channels)
        if kernels_vary:
            masks = torch.zeros((len(geos), *top))
            for row, geo in enumerate(geos):
                starts = [(t - k) // 2 for t, k in zip(top, geo.kernel, strict=True)]
                index: list[int | slice] = [row]
                index += [slice(s, s + k) for s, k in zip(starts, geo.kernel, strict=True)]
                masks[tuple(index)] = 1
            self._tables["kernel"] = masks.flatten(1)

    def _run(self, input: Tensor, weight: Tensor, bias: Tensor | None, plan: _Plan) -> Tensor:
        if plan.pad is not None:
            input = F.pad(input, plan.pad, mode=self.padding_mode)
        return _CONV[self.dims](
            input, weight, bias, plan.stride, plan.padding, plan.dilation, plan.groups
        )

    def forward_slice(self, input: Tensor, key: Key) -> Tensor:
        weight, bias = self.cut(key)
        assert weight is not None
        return self._run(input, weight, bias, self._plans[key])

    def forward_mix(self, input: Tensor, masks: list[Tensor]) -> Tensor:
        joint = self.joint(masks, self.weight)
        weight = self.weight
        kernel = self.mixed("kernel", joint)
        if kernel is not None:
            weight = weight * kernel.view(1, 1, *self.kernel_size)
        output = self._run(input, weight, self.bias, self._mix)
        out = self.mixed("out", joint)
        # Masking the output (not the weight) also zeroes the bias of unused channels.
        return output if out is None else output * channel_view(out, output.dim())


class SharedConv1d(_SharedConv, layers.Conv1d):
    """Weight-sharing Conv1d."""

    dims = 1


class SharedConv2d(_SharedConv, layers.Conv2d):
    """Weight-sharing Conv2d."""

    dims = 2


class SharedConv3d(_SharedConv, layers.Conv3d):
    """Weight-sharing Conv3d."""

    dims = 3
