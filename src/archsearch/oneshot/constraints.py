"""Resource constraints on architectures (parameters, multiply-adds), measured on fixed models.

A constraint is any callable `arch -> bool`. The helpers here measure the plain model that
`archsearch.fix(supernet, arch)` builds, so they count exactly what retraining would deploy,
including layers resized by value choices. Each architecture is measured once (cached).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from archsearch.nn import fix, search_space
from archsearch.oneshot.evolution import architecture_key
from archsearch.space import SearchSpace


class ModelConstraint(ABC):
    """`cost(arch) <= limit`, with the cost measured on `fix(model, arch)`.

    `model` is the supernet; leave it None to let the trainer that receives the constraint bind
    its own model (`SposTrainer` does). Costs are cached per architecture until `bind` is called
    again.
    """

    def __init__(self, limit: float, model: torch.nn.Module | None = None) -> None:
        self.limit = limit
        self.model: torch.nn.Module | None = None
        self._space: SearchSpace | None = None
        self._costs: dict[str, float] = {}
        if model is not None:
            self.bind(model)

    def bind(self, model: torch.nn.Module) -> None:
        """Measure architectures of `model` from now on (forgets cached costs)."""
        self.model = model
        self._space = search_space(model)
        self._costs.clear()

    @abstractmethod
    def measure(self, fixed: torch.nn.Module) -> float:
        """The cost of a fixed model (in eval mode)."""

    def cost(self, arch: Mapping[str, Any]) -> float:
        """The cost of architecture `arch` (any accepted spelling)."""
        if self.model is None or self._space is None:
            raise RuntimeError(
                f"{type(self).__name__} has no model: pass model= or give it to a trainer"
            )
        key = architecture_key(self._space.validate(arch))
        if key not in self._costs:
            # Inherited weights: copying is cheaper than re-initialising, and values don't matter.
            fixed = fix(self.model, arch, inherit_weights=True).eval()
            self._costs[key] = float(self.measure(fixed))
        return self._costs[key]

    def __call__(self, arch: Mapping[str, Any]) -> bool:
        return self.cost(arch) <= self.limit


class ParameterConstraint(ModelConstraint):
    """Allow architectures whose fixed model has at most `max_params` parameters."""

    def __init__(self, max_params: int, model: torch.nn.Module | None = None) -> None:
        super().__init__(max_params, model)

    def measure(self, fixed: torch.nn.Module) -> float:
        return count_parameters(fixed)


class FlopsConstraint(ModelConstraint):
    """Allow architectures whose fixed model needs at most `max_flops` multiply-adds (of Conv
    and Linear layers) for one input of shape `input_shape` (without the batch dimension)."""

    def __init__(
        self, max_flops: int, input_shape: Sequence[int], model: torch.nn.Module | None = None
    ) -> None:
        self.input_shape = tuple(input_shape)
        super().__init__(max_flops, model)

    def measure(self, fixed: torch.nn.Module) -> float:
        return count_flops(fixed, self.input_shape)


def count_parameters(model: torch.nn.Module) -> int:
    """Number of parameter elements (shared parameters once)."""
    return sum(p.numel() for p in model.parameters())


@torch.no_grad()
def count_flops(model: torch.nn.Module, input_shape: Sequence[int]) -> int:
    """Multiply-adds of the Conv and Linear layers of one forward pass on a zero input of shape
    `(1, *input_shape)`; layers called twice count twice. Biases and other layers are ignored."""
    total = 0

    def hook(module: torch.nn.Module, inputs: tuple[Any, ...], output: torch.Tensor) -> None:
        nonlocal total
        total += _macs(module, inputs[0], output)

    handles = [
        m.register_forward_hook(hook)
        for m in model.modules()
        if isinstance(m, (torch.nn.modules.conv._ConvNd, torch.nn.Linear))
    ]
    tensor = next(model.parameters(), None)
    device = tensor.device if tensor is not None else torch.device("cpu")
    try:
        model(torch.zeros(1, *input_shape, device=device))
    finally:
        for handle in handles:
            handle.remove()
    return total


def _macs(module: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> int:
    if isinstance(module, torch.nn.Linear):
        return y.numel() * module.in_features
    assert isinstance(module, torch.nn.modules.conv._ConvNd)
    kernel = math.prod(module.kernel_size)
    if module.transposed:
        # Each input element is scattered through the kernel into out_channels/groups maps.
        return x.numel() * (module.out_channels // module.groups) * kernel
    return y.numel() * (module.in_channels // module.groups) * kernel
