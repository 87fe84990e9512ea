"""Per-candidate cost tables for cost-aware search (ProxylessNAS' regulariser): measured latency
and parameter counts of every LayerChoice candidate, label → one cost per candidate."""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from typing import Any

import torch

from archsearch.nn import LayerChoice, walk

CostTable = dict[str, list[float]]
"""label → one cost per candidate (latency in ms, FLOPs, parameters, ...)."""


@torch.no_grad()
def measure_latency(
    model: torch.nn.Module,
    dummy_input: Sequence[int] | torch.Tensor,
    *,
    repeats: int = 10,
    warmup: int = 2,
) -> CostTable:
    """Milliseconds per candidate of every LayerChoice label (median of `repeats` runs).

    One standalone forward of `model` in eval mode on `dummy_input` (a shape, filled with
    N(0, 1), or a tensor) records the real input of every LayerChoice call; each candidate is
    then timed on that input. A label used by several modules (or a module called twice) sums
    its calls. Any mutator bound to the model is set aside meanwhile and restored.
    """
    table: CostTable = {}
    for choice, args, kwargs in _choice_calls(model, dummy_input):
        times = [_time_ms(candidate, args, kwargs, repeats, warmup) for candidate in choice]
        row = table.setdefault(choice.label, [0.0] * len(times))
        table[choice.label] = [a + b for a, b in zip(row, times, strict=True)]
    return table


def count_parameters(model: torch.nn.Module) -> CostTable:
    """Parameter elements per candidate of every LayerChoice label (a label used by several
    modules sums their distinct parameters)."""
    seen: dict[str, list[set[int]]] = {}
    table: CostTable = {}
    for choice in walk(model).mutables:
        if not isinstance(choice, LayerChoice):
            continue
        ids = seen.setdefault(choice.label, [set() for _ in range(len(choice))])
        row = table.setdefault(choice.label, [0.0] * len(choice))
        for i, candidate in enumerate(choice):
            for p in candidate.parameters():
                if id(p) not in ids[i]:
                    ids[i].add(id(p))
                    row[i] += p.numel()
    return table


def _choice_calls(
    model: torch.nn.Module, dummy_input: Sequence[int] | torch.Tensor
) -> list[tuple[LayerChoice, tuple[Any, ...], dict[str, Any]]]:
    choices = [m for m in walk(model).mutables if isinstance(m, LayerChoice)]
    calls: list[tuple[LayerChoice, tuple[Any, ...], dict[str, Any]]] = []

    def record(module: torch.nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        assert isinstance(module, LayerChoice)
        calls.append((module, args, kwargs))

    first = next(model.parameters(), None)
    device = first.device if first is not None else torch.device("cpu")
    x = dummy_input if isinstance(dummy_input, torch.Tensor) else torch.randn(*dummy_input)
    handles = [c.register_forward_pre_hook(record, with_kwargs=True) for c in choices]
    # Standalone mode (first candidates) needs no decisions; eval mode keeps BatchNorm
    # statistics untouched.
    bound = {m: m.__dict__.pop("_mutator") for m in model.modules() if "_mutator" in m.__dict__}
    was_training = model.training
    model.eval()
    try:
        model(x.to(device))
    finally:
        model.train(was_training)
        for module, mutator in bound.items():
            module.__dict__["_mutator"] = mutator
        for handle in handles:
            handle.remove()
    return calls


def _time_ms(
    module: torch.nn.Module,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    repeats: int,
    warmup: int,
) -> float:
    was_training = module.training
    module.eval()
    cuda = any(isinstance(a, torch.Tensor) and a.is_cuda for a in args)
    samples = []
    try:
        for i in range(warmup + repeats):
            start = time.perf_counter()
            module(*args, **kwargs)
            if cuda:  # kernels are asynchronous: wait for them
                torch.cuda.synchronize()
            if i >= warmup:
                samples.append((time.perf_counter() - start) * 1e3)
    finally:
        module.train(was_training)
    return statistics.median(samples)
