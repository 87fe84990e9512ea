"""Evaluator hyper-parameters in a whole experiment: every strategy samples them, every backend
runs trials with their values, storage, the dashboard and export_top_models show them."""

from __future__ import annotations

from pathlib import Path

import pytest
from experiment_jobs import TinySpace, arch_score
from hparam_jobs import scaled_score

import archsearch
import archsearch.nn as nn
from archsearch.evaluator.functional import FunctionalEvaluator
from archsearch.experiment import Experiment, ExperimentConfig
from archsearch.space import TrialStatus
from archsearch.storage import ExperimentStatus, open_storage
from archsearch.strategy import (
    TPE,
    GridSearch,
    PolicyBasedRL,
    Random,
    RegularizedEvolution,
    Strategy,
)
from archsearch.ui.choices import choice_analysis

RATES = [0.5, 1.0, 2.0]


def _evaluator() -> FunctionalEvaluator:
    return FunctionalEvaluator(scaled_score, lr=nn.ValueChoice(RATES))


def _check_trials(exp: Experiment, count: int) -> set[float]:
    """Every trial succeeded with metric = score × its lr; the lr values tried."""
    trials = exp.storage.trials(exp.id or "")
    assert len(trials) == count
    for trial in trials:
        assert trial.status is TrialStatus.SUCCEEDED, trial.error
        assert set(trial.arch) == {"op", "width", "evaluator.lr"}
        model = archsearch.fix(TinySpace(), {"op": trial.arch["op"], "width": trial.arch["width"]})
        assert trial.metric == pytest.approx(arch_score(model) * trial.arch["evaluator.lr"])
    return {trial.arch["evaluator.lr"] for trial in trials}


@pytest.mark.parametrize(
    "strategy",
    [
        Random(seed=0),
        GridSearch(),
        RegularizedEvolution(population_size=4, sample_size=2, mutation_prob=0.5, seed=0),
        TPE(seed=0, n_startup_trials=3),
        PolicyBasedRL(seed=0),
    ],
    ids=lambda s: type(s).__name__,
)
def test_every_strategy_samples_the_evaluator_choice(tmp_path: Path, strategy: Strategy) -> None:
    exp = Experiment(TinySpace(), _evaluator(), strategy)
    assert exp.search_space.labels == ["op", "width", "evaluator.lr"]
    exp.run(ExperimentConfig(storage=str(tmp_path / "e.db"), max_trial_number=10))
    assert len(_check_trials(exp, 10)) > 1


@pytest.mark.parametrize(("execution", "concurrency"), [("threads", 2), ("local", 2)])
def test_every_backend_gives_trials_the_chosen_value(
    tmp_path: Path, execution: str, concurrency: int
) -> None:
    exp = Experiment(TinySpace, _evaluator(), Random(seed=1))
    config = ExperimentConfig(
        execution=execution,
        trial_concurrency=concurrency,
        max_trial_number=4,
        storage=str(tmp_path / "e.db"),
    )
    assert exp.run(config) == "done"
    _check_trials(exp, 4)


def test_storage_dashboard_and_export_show_the_evaluator_choices(tmp_path: Path) -> None:
    exp = Experiment(TinySpace(), _evaluator(), GridSearch())
    exp.run(ExperimentConfig(storage=str(tmp_path / "e.db"), max_trial_number=36))
    storage = open_storage(tmp_path / "e.db", mode="ro")
    record = storage.experiment(exp.id or "")
    assert record.search_space["evaluator.lr"] == {"_type": "choice", "_value": RATES}
    analysis = choice_analysis(storage, record)
    lr = next(c for c in analysis["choices"] if c["label"] == "evaluator.lr")
    assert [(c["value"], c["trials"]) for c in lr["candidates"]] == [(r, 12) for r in RATES]
    assert exp.export_top_models(top_k=1) == [{"op": "c", "width": 4, "evaluator.lr": 2.0}]
    (model,) = exp.export_top_models(top_k=1, formatter="instance")
    assert model.head.out_features == 4  # built from the model's labels alone
    assert exp.local_debug_run() == pytest.approx(0.25 * 0.5)  # first candidates, lr too


def test_a_resumed_experiment_keeps_searching_the_stored_evaluators_choices(
    tmp_path: Path,
) -> None:
    db = str(tmp_path / "e.db")
    exp = Experiment(TinySpace, _evaluator(), RegularizedEvolution(2, 1, seed=0))
    exp.run(ExperimentConfig(storage=db, max_trial_number=3))
    # Marked stopped (a done experiment is not resumed), then continued with a larger budget.
    exp.storage.update_experiment(exp.id or "", status=ExperimentStatus.STOPPED)
    resumed = Experiment.resume(exp.id or "", storage=db, run=False)  # parts loaded from storage
    assert resumed.evaluator is not exp.evaluator
    assert resumed.search_space == exp.search_space
    resumed.run(ExperimentConfig(storage=db, max_trial_number=6))
    _check_trials(resumed, 6)
