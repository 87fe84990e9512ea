"""Weight sharing across the values of a ValueChoice: one maximal layer, sliced or masked.

`to_supernet` replaces every layer built from value-choice arguments (`nn.Conv2d(1, width, k)`)
by a weight-sharing layer (`SharedConv2d`, ...) built at the largest size any combination of its
choices asks for. Under a mutator, each forward reads the decision of every label it depends on:

- "slice" (single path: SPOS, random, ENAS): the chosen combination's sizes; weights are sliced
  (leading channels/features, centred kernels) and the functional op runs on the slices. This is
  exactly what `archsearch.fix(model, arch, inherit_weights=True)` computes.
- "mix" (DARTS, GDAS): float weights over the candidates. The maximal layer runs with its kernel
  multiplied by the expected centred-kernel mask, and its output channels multiplied by
  m[c] = P(chosen width > c); a derived expression over several labels (`a * b`) gets the
  product distribution of its labels. Boolean decisions (e.g. scoring an exported architecture)
  still slice. With a one-hot weight the first channels equal the fixed layer and the rest are 0;
  GDAS' one-hot floats also run the maximal layer, so every candidate's weight gets a gradient.

Sizes are evaluated for every combination, so no monotonicity of expressions is assumed. The
sliced layers keep the original arguments, so `archsearch.search_space` and `archsearch.fix` see
the model exactly as before, and they keep the original Parameter objects (resized in place), so
an optimizer built before conversion trains the shared weights. Hooks registered on a replaced
layer are not carried over.
"""

from __future__ import annotations

import torch

from archsearch.nn import ChoiceArgs, ModelChoices
from archsearch.nn.value_choice import find_leaves
from archsearch.oneshot.sliced import conv, layers
from archsearch.oneshot.sliced.base import Combos, SharedLayer, Unsupported

_SHARED: tuple[type[SharedLayer], ...] = (
    layers.SharedLinear,
    conv.SharedConv1d,
    conv.SharedConv2d,
    conv.SharedConv3d,
    layers.SharedBatchNorm1d,
    layers.SharedBatchNorm2d,
    layers.SharedBatchNorm3d,
    layers.SharedLayerNorm,
    layers.SharedDropout,
    layers.SharedDropout1d,
    layers.SharedDropout2d,
    layers.SharedDropout3d,
    layers.SharedAlphaDropout,
    layers.SharedMaxPool1d,
    layers.SharedMaxPool2d,
    layers.SharedMaxPool3d,
    layers.SharedAvgPool1d,
    layers.SharedAvgPool2d,
    layers.SharedAvgPool3d,
)

SHARED_LAYERS: dict[type[torch.nn.Module], type[SharedLayer]] = {
    **{cls.__bases__[-1]: cls for cls in _SHARED},
    **{cls: cls for cls in _SHARED},  # converting again (e.g. for another mode) rebuilds
}
"""archsearch.nn layer class → its weight-sharing class (exact types: a user subclass may have
its own forward, which slicing would silently skip)."""

MODES = ("slice", "mix")

_ONLY = (
    "only Linear, Conv1d/2d/3d, BatchNorm1d/2d/3d, LayerNorm, dropout and pooling layers share "
    "weights across values; make it a LayerChoice of fixed layers"
)
_REFUSED = {
    "MultiheadAttention": (
        "embed_dim and num_heads cannot share weights (query, key and value are stacked in one "
        "in_proj_weight, and heads split the embedding); search num_heads with a LayerChoice of "
        "fixed layers at one embed_dim, e.g. of modules that each run "
        "nn.MultiheadAttention(64, h) and return its output tensor (differentiable trainers "
        "sum the candidates' outputs), and embed_dim with a multi-trial experiment"
    ),
}
"""Why a layer class cannot share weights and what to do instead, where `_ONLY` says too
little."""


def to_supernet(model: torch.nn.Module, choices: ModelChoices, *, trainer: str, mode: str) -> None:
    """Replace, in place, each layer built from value-choice arguments by its weight-sharing
    version in `mode` ("slice" or "mix").

    `choices` is `archsearch.nn.walk(model)`. Raises TypeError, naming `trainer`, the layer class
    and the labels, for a layer or argument that cannot share weights; then nothing is changed.
    """
    if mode not in MODES:
        raise ValueError(f"value-choice mode must be one of {MODES}, got {mode!r}")
    converted: dict[int, tuple[ChoiceArgs, SharedLayer]] = {}
    for module in choices.value_modules:
        converted[id(module)] = (module, _convert(module, choices, trainer, mode))
    if id(model) in converted:
        layer = type(model).__name__
        raise TypeError(
            f"{trainer} cannot share weights for {layer} as the whole model: wrap it in a Module"
        )
    # Everything converted: only now touch the user's parameters and the module tree.
    for module, shared in converted.values():
        shared.adopt(module)
    for parent in list(model.modules()):
        for name, child in list(parent._modules.items()):
            if child is not None and id(child) in converted:
                parent._modules[name] = converted[id(child)][1]


def _convert(module: ChoiceArgs, choices: ModelChoices, trainer: str, mode: str) -> SharedLayer:
    kind = SHARED_LAYERS.get(type(module))
    try:
        if kind is None:
            raise Unsupported(None, _REFUSED.get(type(module).__name__, _ONLY))
        return kind.convert(module, Combos(module, choices.leaf_labels), mode)
    except Unsupported as exc:
        arguments = module.choice_arguments() or {}
        names = [exc.argument] if exc.argument in arguments else list(arguments)
        labels = [
            choices.leaf_labels[id(leaf)]
            for name in names
            for _, leaf in find_leaves(arguments[name], name)
        ]
        unique = ", ".join(repr(label) for label in dict.fromkeys(labels))
        plural = "s" if len(dict.fromkeys(labels)) > 1 else ""
        raise TypeError(
            f"{trainer} cannot share weights for {type(module).__name__} argument{plural} "
            f"{unique} ({mode} mode): {exc.reason}"
        ) from None
