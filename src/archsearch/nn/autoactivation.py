"""NNI's AutoActivation: an activation function searched as unary and binary operations
(Ramachandran et al., "Searching for Activation Functions", 2017)."""

from __future__ import annotations

from collections.abc import Callable

import torch

from archsearch.nn.layer_choice import LayerChoice


class _Unary(torch.nn.Module):
    def __init__(self, fn: Callable[[torch.Tensor], torch.Tensor]) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x)


class _Binary(torch.nn.Module):
    """Takes the two operands stacked in one tensor (`x[0]`, `x[1]`), as NNI's do."""

    def __init__(self, fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x[0], x[1])


class _Scale(torch.nn.Module):
    """x · β, β trainable (NNI's UnaryMul)."""

    def __init__(self) -> None:
        super().__init__()
        self.beta = torch.nn.Parameter(torch.tensor(1.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.beta


class _Shift(torch.nn.Module):
    """x + β, β trainable (NNI's UnaryAdd)."""

    def __init__(self) -> None:
        super().__init__()
        self.beta = torch.nn.Parameter(torch.tensor(1.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.beta


class _BetaBinary(torch.nn.Module):
    """exp(-β·(x−y)²), exp(-β·|x−y|) or β·x + (1−β)·y, β trainable (NNI's parametric ones)."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.beta = torch.nn.Parameter(torch.tensor(1.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = x[0], x[1]
        if self.kind == "exp_square":
            return torch.exp(-self.beta * torch.square(a - b))
        if self.kind == "exp_abs":
            return torch.exp(-self.beta * torch.abs(a - b))
        return self.beta * a + (1 - self.beta) * b


def _identity(x: torch.Tensor) -> torch.Tensor:
    return x


def _neg(x: torch.Tensor) -> torch.Tensor:
    return -x


def _cube(x: torch.Tensor) -> torch.Tensor:
    return torch.pow(x, 3)


def _sqrt(x: torch.Tensor) -> torch.Tensor:
    # sqrt(|x|): NNI's sqrt(x) is NaN for every negative input, which poisons a weight-sharing
    # supernet that runs all candidates at once.
    return torch.sqrt(torch.abs(x) + 1e-12)


def _log_abs(x: torch.Tensor) -> torch.Tensor:
    return torch.log(torch.abs(x) + 1e-7)


def _relu(x: torch.Tensor) -> torch.Tensor:
    return torch.clamp(x, min=0)


def _neg_relu(x: torch.Tensor) -> torch.Tensor:
    return torch.clamp(x, max=0)


def _exp_square(x: torch.Tensor) -> torch.Tensor:
    return torch.exp(-torch.square(x))


def _divide(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return x / (y + 1e-7)


def _sigmoid_gate(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return torch.sigmoid(x) * y


def unary_candidates() -> dict[str, torch.nn.Module]:
    """NNI's unary operations, in NNI's order (indices of NNI's exports still apply)."""
    fns: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
        "identity": _identity,
        "negative": _neg,
        "abs": torch.abs,
        "square": torch.square,
        "cube": _cube,
        "sqrt": _sqrt,
    }
    ops: dict[str, torch.nn.Module] = {name: _Unary(fn) for name, fn in fns.items()}
    ops["mul"] = _Scale()
    ops["add"] = _Shift()
    more: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
        "log_abs": _log_abs,
        "exp": torch.exp,
        "sin": torch.sin,
        "cos": torch.cos,
        "sinh": torch.sinh,
        "cosh": torch.cosh,
        "tanh": torch.tanh,
        "atan": torch.atan,
        "max0": _relu,
        "min0": _neg_relu,
        "sigmoid": torch.sigmoid,
        "log_exp": torch.nn.functional.softplus,
        "exp_square": _exp_square,
        "erf": torch.erf,
    }
    ops.update({name: _Unary(fn) for name, fn in more.items()})
    return ops


def binary_candidates() -> dict[str, torch.nn.Module]:
    """NNI's binary operations, in NNI's order."""
    fns: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
        "add": torch.add,
        "mul": torch.mul,
        "minus": torch.sub,
        "divide": _divide,
        "max": torch.maximum,
        "min": torch.minimum,
        "sigmoid": _sigmoid_gate,
    }
    ops: dict[str, torch.nn.Module] = {name: _Binary(fn) for name, fn in fns.items()}
    for kind in ("exp_square", "exp_abs", "param_add"):
        ops[kind] = _BetaBinary(kind)
    return ops


class AutoActivation(torch.nn.Module):
    """A searched activation (NNI's `AutoActivation(unit_num=1, label=None)`).

    `out = u0(x)`, then for each of `unit_num` units `out = b_i(out, u_{i+1}(x))`, where every
    `u` is a LayerChoice over unary operations and every `b` over binary ones. Labels:
    `{label}__unary_{k}` and `{label}__binary_{i}` with a label (NNI's), else the attribute paths.
    """

    def __init__(self, unit_num: int = 1, label: str | None = None) -> None:
        super().__init__()
        if unit_num < 1:
            raise ValueError(f"unit_num must be >= 1, got {unit_num}")

        def named(kind: str, i: int) -> str | None:
            return None if label is None else f"{label}__{kind}_{i}"

        self.first_unary = LayerChoice(unary_candidates(), label=named("unary", 0))
        self.unaries = torch.nn.ModuleList(
            LayerChoice(unary_candidates(), label=named("unary", i + 1)) for i in range(unit_num)
        )
        self.binaries = torch.nn.ModuleList(
            LayerChoice(binary_candidates(), label=named("binary", i)) for i in range(unit_num)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.first_unary(x)
        for unary, binary in zip(self.unaries, self.binaries, strict=True):
            out = binary(torch.stack([out, unary(x)]))
        return out
