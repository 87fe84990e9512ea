"""Evaluator hyper-parameters: value choices in an evaluator's arguments become search-space
dimensions, and each trial's evaluator holds plain values (FunctionalEvaluator and Lightning)."""

from __future__ import annotations

import pickle
from typing import Any

import pytest
import torch
from evaluator_helpers import TinySpace, linear_regression_data, run
from torch.utils.data import DataLoader

import archsearch.nn as nn
from archsearch.evaluator.choices import evaluator_choices, fix_evaluator, trial_space
from archsearch.evaluator.functional import FunctionalEvaluator
from archsearch.evaluator.run import build_model, debug_run
from archsearch.evaluator.serialize import serialize
from archsearch.nn.walk import search_space
from archsearch.space import InvalidArchitectureError, TrialStatus, ValueChoiceDim

SEEN: list[dict[str, Any]] = []
"""What the trial functions below were called with (in this process)."""


def record_arguments(model: torch.nn.Module, lr: float, epochs: int = 1, **rest: Any) -> float:
    SEEN.append({"lr": lr, "epochs": epochs, **rest})
    return lr * epochs


def test_a_value_choice_argument_is_a_labelled_dimension_and_the_function_gets_its_value() -> None:
    SEEN.clear()
    evaluator = FunctionalEvaluator(
        record_arguments, lr=nn.ValueChoice([0.1, 0.01]), epochs=nn.ValueChoice([1, 3], label="ep")
    )
    space = trial_space(search_space(TinySpace()), evaluator)
    assert space.labels == ["fc", "evaluator.lr", "ep"]  # the model's first, then derived, given
    assert space["evaluator.lr"] == ValueChoiceDim("evaluator.lr", (0.1, 0.01))
    result, _ = run(evaluator, {"fc": "wide", "evaluator.lr": 0.01, "ep": 3})
    assert result.status is TrialStatus.SUCCEEDED, result.traceback
    assert SEEN == [{"lr": 0.01, "epochs": 3}]  # plain values, not ValueChoice objects
    assert result.metric == pytest.approx(0.03)
    assert isinstance(evaluator.arguments["lr"], nn.ValueChoice)  # the original is untouched


def test_choices_inside_containers_and_expressions_resolve_and_shared_objects_are_one() -> None:
    SEEN.clear()
    rate = nn.ValueChoice([1, 2])
    evaluator = FunctionalEvaluator(
        record_arguments,
        lr=rate * 0.5,
        schedule=[rate, {"warmup": nn.ValueChoice([0, 5])}],
    )
    choices = evaluator_choices(evaluator)
    assert list(choices.dims) == ["evaluator.lr", "evaluator.schedule.1.warmup"]
    fixed = fix_evaluator(evaluator, {"evaluator.lr": 2, "evaluator.schedule.1.warmup": 5})
    assert fixed.arguments == {"lr": 1.0, "schedule": [2, {"warmup": 5}]}
    assert fix_evaluator(FunctionalEvaluator(record_arguments, lr=0.1), {}).arguments == {"lr": 0.1}
    plain = FunctionalEvaluator(record_arguments, lr=0.1)
    assert fix_evaluator(plain, {"fc": "wide"}) is plain  # nothing to replace: no copy


def test_a_label_shared_with_the_model_is_one_decision() -> None:
    class Hidden(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4, nn.ValueChoice([2, 8], label="hidden"))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out: torch.Tensor = self.fc(x)
            return out

    def width_and_arg(model: torch.nn.Module, hidden: int) -> float:
        return float(model.fc.out_features * 100 + hidden)

    evaluator = FunctionalEvaluator(width_and_arg, hidden=nn.ValueChoice([2, 8], label="hidden"))
    assert trial_space(search_space(Hidden()), evaluator).labels == ["hidden"]
    assert debug_run(evaluator, Hidden, {"hidden": 8}) == 808.0
    assert debug_run(evaluator, Hidden) == 202.0  # first candidates by default

    clash = FunctionalEvaluator(width_and_arg, hidden=nn.ValueChoice([2, 4], label="hidden"))
    with pytest.raises(ValueError, match="'hidden' is shared by the model"):
        trial_space(search_space(Hidden()), clash)


def test_the_model_is_built_without_the_evaluators_labels_and_unknown_ones_fail() -> None:
    evaluator = FunctionalEvaluator(record_arguments, lr=nn.ValueChoice([0.1, 0.2]))
    model = build_model(TinySpace, {"fc": "wide", "evaluator.lr": 0.2}, evaluator)
    assert isinstance(model.fc, torch.nn.Sequential)
    with pytest.raises(InvalidArchitectureError, match="unknown labels"):
        build_model(TinySpace, {"fc": "wide", "evaluator.lr": 0.2})  # no evaluator: strict
    with pytest.raises(InvalidArchitectureError, match="unknown labels"):
        build_model(TinySpace, {"fc": "wide", "evaluator.lr": 0.2, "typo": 1}, evaluator)


def test_bad_choices_are_refused_with_their_label() -> None:
    clash = FunctionalEvaluator(
        record_arguments,
        lr=nn.ValueChoice([0.1], label="x"),
        epochs=nn.ValueChoice([1, 2], label="x"),
    )
    with pytest.raises(ValueError, match="label 'x' is shared by two different choices"):
        evaluator_choices(clash)
    not_json = FunctionalEvaluator(record_arguments, lr=nn.ValueChoice([object()]))
    with pytest.raises(TypeError, match=r"'evaluator\.lr'"):
        evaluator_choices(not_json)
    evaluator = FunctionalEvaluator(record_arguments, lr=nn.ValueChoice([0.1, 0.2]))
    with pytest.raises(InvalidArchitectureError, match=r"'evaluator\.lr' has no value"):
        fix_evaluator(evaluator, {"fc": "wide"})
    with pytest.raises(InvalidArchitectureError, match=r"not a candidate"):
        fix_evaluator(evaluator, {"evaluator.lr": 0.3})


def test_an_evaluator_with_choices_pickles_and_resolves_the_same_after() -> None:
    evaluator = FunctionalEvaluator(record_arguments, lr=nn.ValueChoice([0.1, 0.2]))
    copy = pickle.loads(pickle.dumps(evaluator))  # as a worker process receives it
    assert list(evaluator_choices(copy).dims) == ["evaluator.lr"]
    assert fix_evaluator(copy, {"evaluator.lr": 0.2}).arguments == {"lr": 0.2}


# --- Lightning evaluators -------------------------------------------------------------------------

RATES: list[float] = []


def recording_sgd(parameters: Any, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    """SGD that records the learning rate it was given (in this process)."""
    RATES.append(lr)
    return torch.optim.SGD(parameters, lr=lr, weight_decay=weight_decay)


class Regressor(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(8, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.fc(x)
        return out


@pytest.mark.usefixtures("one_thread")
def test_lightning_learning_rate_epochs_and_batch_size_are_searched() -> None:
    pytest.importorskip("pytorch_lightning")
    from archsearch.evaluator.lightning import Regression

    data = serialize(linear_regression_data, 64, seed=0)
    evaluator = Regression(
        serialize(DataLoader, data, batch_size=nn.ValueChoice([16, 32])),
        serialize(DataLoader, serialize(linear_regression_data, 32, seed=1), batch_size=32),
        learning_rate=nn.ValueChoice([0.1, 0.01], label="lr"),
        max_epochs=nn.ValueChoice([1, 2]),
        optimizer=recording_sgd,
    )
    space = trial_space(search_space(Regressor()), evaluator)
    assert space.labels == ["evaluator.train_dataloaders.batch_size", "lr", "evaluator.max_epochs"]
    arch = {"evaluator.train_dataloaders.batch_size": 32, "lr": 0.01, "evaluator.max_epochs": 2}
    fixed = fix_evaluator(evaluator, arch)
    assert fixed.data()["train_dataloaders"].batch_size == 32
    assert fixed.trainer_kwargs["max_epochs"] == 2
    RATES.clear()
    result, reports = run(evaluator, arch, Regressor)
    assert result.status is TrialStatus.SUCCEEDED, result.traceback
    assert RATES == [0.01]
    assert [step for step, _ in reports] == [0, 1]  # two epochs
    assert isinstance(evaluator.learning_rate, nn.ValueChoice)  # the original is untouched


@pytest.mark.usefixtures("one_thread")
def test_nnis_data_loader_with_a_value_choice_batch_size_is_searched() -> None:
    pytest.importorskip("pytorch_lightning")
    import archsearch.evaluator as pl

    data = linear_regression_data(64, seed=0)
    evaluator = pl.Regression(
        train_dataloaders=pl.DataLoader(data, batch_size=nn.ValueChoice([16, 64], label="bs")),
        val_dataloaders=pl.DataLoader(linear_regression_data(32, seed=1), batch_size=32),
        max_epochs=1,
    )
    assert trial_space(search_space(Regressor()), evaluator).labels == ["bs"]
    fixed = fix_evaluator(evaluator, {"bs": 16})
    assert fixed.data()["train_dataloaders"].batch_size == 16
    result, _ = run(evaluator, {"bs": 64}, Regressor)
    assert result.status is TrialStatus.SUCCEEDED, result.traceback


def test_lightning_constructors_check_every_candidate() -> None:
    pytest.importorskip("pytorch_lightning")
    from archsearch.evaluator.lightning import Classification

    with pytest.raises(ValueError, match=r"learning_rate > 0; got -1 \(a candidate of"):
        Classification("t", "v", learning_rate=nn.ValueChoice([0.1, -1]))
    with pytest.raises(ValueError, match="max_epochs >= 1; got 0"):
        Classification("t", "v", max_epochs=nn.ValueChoice([2, 4]) - 2)
    with pytest.raises(ValueError, match="num_classes must be an int >= 2, got 1"):
        Classification("t", "v", num_classes=nn.ValueChoice([10, 1]))
    with pytest.raises(TypeError, match="weight_decay must be a number"):
        Classification("t", "v", weight_decay=nn.ValueChoice(["none"]))
    ok = Classification("t", "v", learning_rate=nn.ValueChoice([0.1, 0.01]))
    assert list(evaluator_choices(ok).dims) == ["evaluator.learning_rate"]


class CountingList(list[Any]):
    """A list that counts how often it is walked."""

    walks = 0

    def __iter__(self) -> Any:
        CountingList.walks += 1
        return super().__iter__()


def test_an_evaluators_arguments_are_walked_once_not_at_every_trial() -> None:
    data = CountingList(range(1000))  # e.g. a dataset given as a list of samples
    evaluator = FunctionalEvaluator(record_arguments, lr=nn.ValueChoice([0.1, 0.2]), data=data)
    CountingList.walks = 0
    for lr in (0.1, 0.2, 0.1):
        SEEN.clear()
        result, _ = run(evaluator, {"fc": "narrow", "evaluator.lr": lr}, TinySpace)
        assert result.status is TrialStatus.SUCCEEDED, result.traceback
        assert SEEN[0]["lr"] == lr and SEEN[0]["data"] is data
    assert CountingList.walks == 1
