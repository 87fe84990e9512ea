"""A trial's stored start is when it began in its worker, not when the runner sent it: the
first trials of a local run would otherwise count the workers' start-up (spawn, importing
torch) in their duration."""

from __future__ import annotations

from pathlib import Path

from experiment_jobs import TinySpace, timed_score

from archsearch.evaluator.functional import FunctionalEvaluator
from archsearch.experiment import Experiment, ExperimentConfig
from archsearch.space import TrialStatus
from archsearch.storage import open_storage
from archsearch.strategy import Random
from archsearch.ui.trials import row


def test_started_at_is_when_the_worker_began_the_trial(tmp_path: Path) -> None:
    exp = Experiment(TinySpace, FunctionalEvaluator(timed_score), Random(seed=0))
    config = ExperimentConfig(
        storage=str(tmp_path / "exp.db"),
        execution="local",
        trial_concurrency=2,
        max_trial_number=4,
    )
    assert exp.run(config) == "done"
    trials = open_storage(tmp_path / "exp.db").trials(exp.id)
    assert [t.status for t in trials] == [TrialStatus.SUCCEEDED] * 4
    for trial in trials:
        assert trial.started_at is not None and trial.ended_at is not None
        began = trial.metrics["began"]
        # Building the model and loading the evaluator come between; a worker's start-up
        # (a new interpreter importing torch) takes seconds.
        assert trial.started_at <= began < trial.started_at + 0.5, (trial.id, began)
        assert row(trial)["duration"] == trial.ended_at - trial.started_at
