"""Weight inheritance between a module and its re-built, differently sized version."""

from __future__ import annotations

import torch


def copy_overlap(dst: torch.nn.Module, src: torch.nn.Module) -> None:
    """Copy every parameter and buffer of `src` into `dst` where they overlap.

    Equal shapes copy whole. Different sizes copy the shared region: leading channels/features,
    and the centre of convolution kernels (so a 3x3 kernel inherits the middle of a 5x5), which is
    how weight-sharing supernets slice one maximal layer.
    """
    source = src.state_dict()
    with torch.no_grad():
        for name, target in dst.state_dict().items():
            value = source.get(name)
            if value is None or value.dim() != target.dim():
                continue
            if value.shape == target.shape:
                target.copy_(value)
                continue
            spatial = target.dim() >= 3
            dst_index, src_index = [], []
            for d, (t, s) in enumerate(zip(target.shape, value.shape, strict=True)):
                n = min(t, s)
                centred = spatial and d >= 2
                dst_start, src_start = ((t - n) // 2, (s - n) // 2) if centred else (0, 0)
                dst_index.append(slice(dst_start, dst_start + n))
                src_index.append(slice(src_start, src_start + n))
            target[tuple(dst_index)].copy_(value[tuple(src_index)])


def reset_parameters(model: torch.nn.Module) -> None:
    """Re-initialise every submodule that knows how (torch layers do), as a fresh model would be."""
    for module in model.modules():
        reset = getattr(module, "reset_parameters", None) or getattr(
            module, "_reset_parameters", None
        )
        if callable(reset):
            reset()
