"""NNI's evaluator entry points: `Classification.fit(model)` / `Regression.fit(model)` train a
given model, and `evaluator._execute(Net)` runs one trial here (the Retiarii document's shapes,
with `import archsearch.evaluator as pl` for NNI's `...evaluator.pytorch.lightning as pl`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
import torch
from evaluator_helpers import DigitsSpace, linear_regression_data, run

import archsearch.evaluator as pl
import archsearch.nn as nn
from archsearch.evaluator.base import Reporter
from archsearch.evaluator.functional import FunctionalEvaluator
from archsearch.evaluator.reporter import reporting_to
from archsearch.space import TrialStatus

pytest.importorskip("pytorch_lightning")

pytestmark = pytest.mark.usefixtures("one_thread")


class ListReporter(Reporter):
    def __init__(self) -> None:
        super().__init__()
        self.reports: list[tuple[int, dict[str, Any]]] = []

    def on_report(self, step: int, metrics: Mapping[str, Any]) -> None:
        self.reports.append((step, dict(metrics)))


def digits_classification(**kwargs: Any) -> pl.Classification:
    split = pl.load_digits()
    return pl.Classification(
        train_dataloader=pl.DataLoader(split.train, batch_size=100, shuffle=True),
        val_dataloaders=pl.DataLoader(split.test, batch_size=100),
        **kwargs,
    )


def digits_accuracy(model: torch.nn.Module) -> float:
    x, y = pl.load_digits().test.tensors
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())


def test_classification_fit_trains_the_given_model_in_place_and_returns_its_metrics() -> None:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10))
    before = digits_accuracy(model)
    evaluator = digits_classification(max_epochs=2, learning_rate=0.01)
    metrics = evaluator.fit(model)
    assert set(metrics) == {"default", "accuracy", "val_loss", "train_loss"}
    assert metrics["accuracy"] == pytest.approx(digits_accuracy(model))  # the same model, trained
    assert metrics["accuracy"] > max(before, 0.5)


def test_regression_fit_reports_each_epoch_and_the_final_to_the_running_trial() -> None:
    torch.manual_seed(0)
    evaluator = pl.Regression(
        pl.DataLoader(linear_regression_data(128, seed=0), batch_size=32),
        pl.DataLoader(linear_regression_data(64, seed=1), batch_size=64),
        max_epochs=3,
        learning_rate=0.05,
    )
    model = torch.nn.Linear(8, 1)
    reporter = ListReporter()
    with reporting_to(reporter):  # as inside a trial
        metrics = evaluator.fit(model)
    assert [step for step, _ in reporter.reports] == [0, 1, 2]
    assert reporter.final == metrics
    assert metrics["mse"] < reporter.reports[0][1]["mse"]


def fit_inside(model: torch.nn.Module, epochs: int) -> None:
    """A trial function in NNI's style: trains with a Lightning evaluator, returns nothing."""
    digits_classification(max_epochs=epochs, limit_train_batches=2).fit(model)


def test_fit_called_by_a_trial_function_gives_the_trial_its_metrics() -> None:
    evaluator = FunctionalEvaluator(fit_inside, epochs=2)
    result, reports = run(evaluator, {"body": "linear"}, DigitsSpace)
    assert result.status is TrialStatus.SUCCEEDED, result.traceback
    assert [step for step, _ in reports] == [0, 1]
    assert result.metrics == reports[-1][1]


def test_fit_takes_the_evaluators_choices_from_an_architecture_else_the_first() -> None:
    evaluator = digits_classification(
        max_epochs=nn.ValueChoice([1, 2], label="epochs"), limit_train_batches=1
    )
    for arch, epochs in [(None, 1), ({"epochs": 2, "body": "cnn"}, 2)]:
        reporter = ListReporter()
        with reporting_to(reporter):
            evaluator.fit(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10)), arch)
        assert len(reporter.reports) == epochs


class Net(nn.Module):
    """The document's `Net`: a model space class with a choice in it."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.LayerChoice(
            [
                nn.Sequential(nn.Flatten(), nn.Linear(64, 10)),
                nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10)),
            ]
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.body(x)
        return out


def test_execute_runs_the_documents_evaluator_on_the_class_here() -> None:
    torch.manual_seed(0)
    split = pl.load_digits()
    evaluator = pl.Classification(
        train_dataloader=pl.DataLoader(split.train, batch_size=100),
        val_dataloaders=pl.DataLoader(split.test, batch_size=100),
        max_epochs=2,
    )
    accuracy = evaluator._execute(Net)  # NNI's debug entry: the class, not an instance
    assert isinstance(accuracy, float)
    assert 0.2 < accuracy <= 1.0  # the first candidate after two epochs at lr 1e-3; chance 0.1
