"""Classification and Regression: real Lightning training (digits, synthetic data) via run_job."""

from __future__ import annotations

import pickle
import subprocess
import sys
import textwrap
from collections.abc import Mapping
from typing import Any

import pytest
import torch
from evaluator_helpers import (
    DigitsSpace,
    digits_loader,
    digits_loaders,
    linear_regression_data,
    run,
)
from torch.utils.data import DataLoader

from archsearch.evaluator.base import Reporter
from archsearch.evaluator.lightning import Classification, Regression
from archsearch.evaluator.serialize import serialize
from archsearch.space import TrialStatus

pytest.importorskip("pytorch_lightning")

pytestmark = pytest.mark.usefixtures("one_thread")


def digits_classification(**kwargs: Any) -> Classification:
    torch.manual_seed(0)
    train, val = digits_loaders()
    return Classification(train, val, **kwargs)


def regression_loaders() -> tuple[DataLoader[Any], DataLoader[Any]]:
    return (
        DataLoader(linear_regression_data(512, seed=0), batch_size=32, shuffle=True),
        DataLoader(linear_regression_data(256, seed=1), batch_size=128),
    )


class LinearRegressor(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(8, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.fc(x)
        return out


class ListReporter(Reporter):
    def __init__(self, stop_after: int | None = None) -> None:
        super().__init__()
        self.reports: list[tuple[int, dict[str, Any]]] = []
        self.stop_after = stop_after

    def on_report(self, step: int, metrics: Mapping[str, Any]) -> None:
        self.reports.append((step, dict(metrics)))

    def should_stop(self) -> bool:
        return self.stop_after is not None and len(self.reports) >= self.stop_after


# --- Classification -------------------------------------------------------------------------------


def test_classification_on_digits_learns_and_reports_every_epoch() -> None:
    evaluator = digits_classification(max_epochs=2, learning_rate=3e-3, num_classes=10)
    result, reports = run(evaluator, {"body": "cnn"}, DigitsSpace)
    assert result.status is TrialStatus.SUCCEEDED, result.traceback
    assert [step for step, _ in reports] == [0, 1]
    for _, metrics in reports:
        assert set(metrics) == {"default", "accuracy", "val_loss", "train_loss"}
        assert metrics["default"] == metrics["accuracy"]
    assert result.metrics == reports[-1][1]
    assert result.metric is not None and result.metric > 0.5  # chance is 0.1
    assert reports[1][1]["val_loss"] < reports[0][1]["val_loss"]


def test_classification_accuracy_is_exact_over_uneven_batches() -> None:
    # 449 validation digits in batches of 256: accuracy must weigh samples, not batches.
    evaluator = digits_classification(max_epochs=1, limit_train_batches=1)
    reporter = ListReporter()
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10))
    metric = evaluator.evaluate(model, reporter)
    assert isinstance(metric, dict)
    model.eval()
    x, y = (torch.cat(t) for t in zip(*evaluator.data()["val_dataloaders"], strict=True))
    with torch.no_grad():
        expected = (model(x).argmax(1) == y).float().mean().item()
        loss = torch.nn.functional.cross_entropy(model(x), y).item()
    assert metric["default"] == pytest.approx(expected, abs=1e-9)
    assert metric["val_loss"] == pytest.approx(loss, rel=1e-5)


def test_wrong_number_of_classes_fails_the_trial_clearly() -> None:
    evaluator = digits_classification(max_epochs=1, num_classes=7, limit_train_batches=1)
    result, _ = run(evaluator, {"body": "linear"}, DigitsSpace)
    assert result.status is TrialStatus.FAILED
    assert result.error == "ValueError: the model returns 10 logits per sample but num_classes is 7"


def test_the_reporter_can_stop_training_early() -> None:
    evaluator = digits_classification(max_epochs=5, limit_train_batches=2)
    reporter = ListReporter(stop_after=2)
    evaluator.evaluate(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10)), reporter)
    assert [step for step, _ in reporter.reports] == [0, 1]


# --- Regression -----------------------------------------------------------------------------------


def test_regression_reports_mse_that_falls_below_the_mean_baseline() -> None:
    torch.manual_seed(0)
    evaluator = Regression(*regression_loaders(), max_epochs=3, learning_rate=0.05)
    reporter = ListReporter()
    metric = evaluator.evaluate(LinearRegressor(), reporter)
    assert isinstance(metric, dict)
    assert [step for step, _ in reporter.reports] == [0, 1, 2]
    mses = [m["mse"] for _, m in reporter.reports]
    assert mses == [m["default"] for _, m in reporter.reports]
    assert mses[-1] < mses[0]
    y = linear_regression_data(256, seed=1).tensors[1]
    assert metric["default"] < 0.1 * float(((y - y.mean()) ** 2).mean())
    assert metric["val_loss"] == pytest.approx(metric["default"], rel=1e-5)  # MSELoss


@pytest.mark.parametrize("criterion", [torch.nn.L1Loss, torch.nn.L1Loss()])
def test_another_criterion_is_the_loss_and_mse_stays_the_metric(criterion: Any) -> None:
    torch.manual_seed(0)
    train, val = regression_loaders()
    evaluator = Regression(train, val, max_epochs=1, criterion=criterion)
    model = LinearRegressor()
    metric = evaluator.evaluate(model, ListReporter())
    assert isinstance(metric, dict)
    x, y = val.dataset.tensors  # type: ignore[attr-defined]
    with torch.no_grad():
        out = model(x)
    assert metric["val_loss"] == pytest.approx((out - y).abs().mean().item(), rel=1e-5)
    assert metric["mse"] == pytest.approx(((out - y) ** 2).mean().item(), rel=1e-5)


def test_regression_refuses_outputs_shaped_unlike_targets() -> None:
    flat = DataLoader(torch.utils.data.TensorDataset(torch.randn(8, 8), torch.randn(8)))
    evaluator = Regression(flat, flat, max_epochs=1)
    with pytest.raises(ValueError, match=r"output \(1, 1\) and target \(1,\)"):
        evaluator.evaluate(LinearRegressor(), ListReporter())


def test_a_datamodule_supplies_the_data() -> None:
    import pytorch_lightning as pl

    class RegressionData(pl.LightningDataModule):
        def train_dataloader(self) -> DataLoader[Any]:
            return regression_loaders()[0]

        def val_dataloader(self) -> DataLoader[Any]:
            return regression_loaders()[1]

    torch.manual_seed(0)
    evaluator = Regression(datamodule=RegressionData(), max_epochs=2, learning_rate=0.05)
    reporter = ListReporter()
    metric = evaluator.evaluate(LinearRegressor(), reporter)
    assert isinstance(metric, dict)
    assert [step for step, _ in reporter.reports] == [0, 1]
    assert metric["mse"] < reporter.reports[0][1]["mse"]


# --- data as recipes, pickling -------------------------------------------------------------------


def test_an_evaluator_survives_a_pickle_round_trip_and_trains_after_it() -> None:
    evaluator = digits_classification(max_epochs=1, limit_train_batches=3, weight_decay=1e-4)
    copy = pickle.loads(pickle.dumps(evaluator))
    assert copy.trainer_kwargs == evaluator.trainer_kwargs
    assert copy.weight_decay == 1e-4
    result, reports = run(copy, {"body": "linear"}, DigitsSpace)
    assert result.status is TrialStatus.SUCCEEDED, result.traceback
    assert len(reports) == 1


def test_serialized_loaders_are_built_once_per_process_and_not_pickled_built() -> None:
    evaluator = Classification(
        serialize(digits_loader, True, batch_size=128),
        serialize(digits_loader, False),
        max_epochs=1,
        limit_train_batches=2,
    )
    first = evaluator.data()
    assert isinstance(first["train_dataloaders"], DataLoader)
    assert first["train_dataloaders"].batch_size == 128
    result, _ = run(evaluator, {"body": "linear"}, DigitsSpace)
    assert result.status is TrialStatus.SUCCEEDED, result.traceback
    assert evaluator.data() is first
    copy = pickle.loads(pickle.dumps(evaluator))
    assert copy.data() is not first
    assert copy.train_dataloaders == evaluator.train_dataloaders  # still the recipe


def test_importing_the_evaluators_does_not_import_lightning() -> None:
    code = textwrap.dedent(
        """
        import pickle, sys
        import archsearch.evaluator
        from archsearch.evaluator.lightning import Classification, Regression
        pickle.loads(sys.stdin.buffer.read())
        print("pytorch_lightning" in sys.modules)
        """
    )
    evaluator = Regression(*regression_loaders())
    done = subprocess.run(
        [sys.executable, "-c", code], input=pickle.dumps(evaluator), capture_output=True, timeout=60
    )
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().strip() == "False"


# --- refused input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((), {}, "needs train_dataloaders and val_dataloaders"),
        (("train",), {}, "needs val_dataloaders"),
        (("t", "v"), {"datamodule": object()}, "either a datamodule or dataloaders"),
        (("t", "v"), {"export_onnx": True}, "export_onnx=True"),
        (("t", "v"), {"max_epochs": 0}, "max_epochs >= 1"),
        (("t", "v"), {"learning_rate": 0.0}, "learning_rate > 0"),
        (("t", "v"), {"num_classes": 1}, "num_classes must be an int >= 2"),
    ],
)
def test_bad_arguments_are_refused_at_construction(
    args: tuple[Any, ...], kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Classification(*args, **kwargs)


def test_unknown_trainer_arguments_are_refused_at_construction() -> None:
    with pytest.raises(TypeError, match=r"'max_epoch'.*pytorch_lightning\.Trainer"):
        Regression("t", "v", max_epoch=3)
    with pytest.raises(TypeError, match="optimizer is a class"):
        Regression("t", "v", optimizer="adam")
    assert Regression("t", "v", gradient_clip_val=1.0).trainer_kwargs["gradient_clip_val"] == 1.0
