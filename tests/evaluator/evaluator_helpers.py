"""Module-level model spaces, trial functions and data for the evaluator tests.

Importable (this folder is on sys.path under pytest, and subprocess tests add it), so evaluators
built from these pickle by reference, as a user's module-level code would.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch.utils.data import DataLoader, TensorDataset

import archsearch.nn as nn
from archsearch.evaluator import load_digits
from archsearch.evaluator.reporter import report_final_result, report_intermediate_result
from archsearch.execution.base import Job, TrialResult
from archsearch.execution.refs import Ref
from archsearch.execution.worker import CallbackReporter, run_job


class TinySpace(nn.Module):
    """A LayerChoice between a narrow and a wide linear head (4 inputs, 2 outputs)."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.LayerChoice(
            {
                "narrow": nn.Linear(4, 2),
                "wide": nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2)),
            },
            label="fc",
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.fc(x)
        return out


class DigitsSpace(nn.Module):
    """Digits (1×8×8 → 10 classes): a LayerChoice between a small CNN and a linear model."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.LayerChoice(
            {
                "cnn": nn.Sequential(
                    nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(512, 10)
                ),
                "linear": nn.Sequential(nn.Flatten(), nn.Linear(64, 10)),
            },
            label="body",
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.body(x)
        return out


def count_parameters(model: torch.nn.Module, scale: float = 1.0) -> float:
    """Returns the metric: the parameter count (times `scale`)."""
    return scale * sum(p.numel() for p in model.parameters())


def report_then_final(model: torch.nn.Module, steps: int = 3) -> None:
    """Reports `steps` intermediate results 0.1, 0.2, ... and a final one; returns nothing."""
    for i in range(steps):
        report_intermediate_result({"default": 0.1 * (i + 1), "loss": 1.0 / (i + 1)})
    report_final_result(0.75)


def report_at_steps(model: torch.nn.Module) -> float:
    report_intermediate_result(0.5, step=10)
    report_intermediate_result(0.6)  # the next step: 11
    return 0.6


def crash(model: torch.nn.Module) -> float:
    raise RuntimeError("the trial crashed on purpose")


def not_a_number(model: torch.nn.Module) -> float:
    return math.nan


def needs_lr(model: torch.nn.Module, lr: float, *, epochs: int = 1) -> float:
    return lr * epochs


def run(
    evaluator: Any, arch: Mapping[str, Any], space: Any = TinySpace
) -> tuple[TrialResult, list[tuple[int, dict[str, Any]]]]:
    """Run one trial through `run_job` in this process; the result and the reports it sent."""
    reports: list[tuple[int, dict[str, Any]]] = []
    reporter = CallbackReporter(lambda step, metrics: reports.append((step, dict(metrics))))
    job = Job("exp", 1, dict(arch), Ref.live(space), Ref.live(evaluator))
    return run_job(job, reporter), reports


def digits_loaders(batch_size: int = 64) -> tuple[DataLoader[Any], DataLoader[Any]]:
    """Train (shuffled) and test loaders over scikit-learn's digits."""
    split = load_digits()
    return (
        DataLoader(split.train, batch_size=batch_size, shuffle=True),
        DataLoader(split.test, batch_size=256),
    )


def digits_loader(train: bool, batch_size: int = 64) -> DataLoader[Any]:
    """One digits loader; a module-level factory for `serialize`."""
    split = load_digits()
    return DataLoader(split.train if train else split.test, batch_size=batch_size, shuffle=train)


def linear_regression_data(n: int, seed: int) -> TensorDataset:
    """y = x·w + 0.5 + small noise, with x of 8 features and y of shape (n, 1)."""
    g = torch.Generator().manual_seed(seed)
    w = torch.linspace(-1.0, 1.0, 8, dtype=torch.float32).unsqueeze(1)
    x = torch.randn(n, 8, generator=g)
    y = x @ w + 0.5 + 0.05 * torch.randn(n, 1, generator=g)
    return TensorDataset(x, y)
