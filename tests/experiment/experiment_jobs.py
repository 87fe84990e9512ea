"""Model spaces and trial functions for the experiment tests (module level, so worker
processes and resumed experiments can import them)."""

from __future__ import annotations

import math
import os
import time

import torch

import archsearch.nn as nn
from archsearch.evaluator import report_intermediate_result


class TinySpace(nn.Module):
    """Two choices, 3 × 4 = 12 architectures; the 'score' of an architecture is known."""

    def __init__(self) -> None:
        super().__init__()
        self.op = nn.LayerChoice({"a": nn.Linear(4, 4), "b": nn.Identity(), "c": nn.Tanh()})
        self.width = nn.ValueChoice([1, 2, 3, 4], label="width")
        self.head = nn.Linear(4, self.width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.op(x))


def arch_score(model: torch.nn.Module) -> float:
    """A deterministic score read from the fixed model: best is op 'c' with width 4."""
    op_bonus = {"Linear": 0.0, "Identity": 1.0, "Tanh": 2.0}[type(model.op).__name__]
    return op_bonus + model.head.out_features / 4


def score_model(model: torch.nn.Module, steps: int = 2) -> float:
    """Reports `steps` intermediate results, returns the score."""
    value = arch_score(model)
    for step in range(steps):
        report_intermediate_result({"default": value * (step + 1) / steps, "step": step})
    return value


def slow_score(model: torch.nn.Module, seconds: float = 0.3) -> float:
    """The score after a pause (so a test can kill or stop the experiment mid-trial)."""
    time.sleep(seconds)
    return arch_score(model)


def flaky_score(model: torch.nn.Module) -> float:
    """Raises for op 'a', NaN for op 'b', the score for 'c'."""
    name = type(model.op).__name__
    if name == "Linear":
        raise RuntimeError("trial exploded on purpose")
    if name == "Identity":
        return math.nan
    return arch_score(model)


def loss_like(model: torch.nn.Module) -> float:
    """Smaller is better: the best architecture under optimize_mode='minimize' is op 'a',
    width 1."""
    return arch_score(model)


def pid_score(model: torch.nn.Module) -> float:
    """The worker's pid as a metric (to see which process ran a trial)."""
    return float(os.getpid())


class OpsOnly(nn.Module):
    """One choice of three ops: each decides how its trial goes wrong (or not)."""

    def __init__(self) -> None:
        super().__init__()
        self.op = nn.LayerChoice({"crash": nn.Linear(4, 4), "hang": nn.Identity(), "ok": nn.Tanh()})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


def misbehave(model: torch.nn.Module) -> float:
    """'crash' segfaults its worker, 'hang' never returns, 'ok' scores 1."""
    name = type(model.op).__name__
    if name == "Linear":
        import ctypes

        ctypes.string_at(0)  # a real segmentation fault
    if name == "Identity":
        time.sleep(3600)
    return 1.0


def timed_score(model: torch.nn.Module) -> dict[str, float]:
    """The score, with the time the trial's own code began (to check the stored start)."""
    return {"default": arch_score(model), "began": time.time()}


class Unprintable(Exception):
    """An exception whose message cannot be made: its `__str__` raises."""

    def __str__(self) -> str:
        raise RuntimeError("no message")


NOT_UTF8 = "file " + os.fsdecode(b"\xff")
"""Text that is not valid UTF-8 (a lone surrogate), as a non-UTF-8 file name gives."""


def bad_text(model: torch.nn.Module) -> dict[str, object]:
    """'crash' raises with NOT_UTF8 in its message, 'hang' raises Unprintable, 'ok' reports
    and returns NOT_UTF8 as extra metrics."""
    name = type(model.op).__name__
    if name == "Linear":
        raise RuntimeError(f"cannot open {NOT_UTF8}")
    if name == "Identity":
        raise Unprintable
    report_intermediate_result({"default": 0.5, "file": NOT_UTF8})
    return {"default": 1.0, "file": NOT_UTF8}
