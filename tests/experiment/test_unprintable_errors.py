"""An exception whose message cannot be made (its `__str__` raises) is recorded by its type,
wherever user code raises it: in a trial (test_experiment.py) or in a strategy."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from experiment_jobs import TinySpace, Unprintable, arch_score

from archsearch.evaluator import FunctionalEvaluator
from archsearch.execution import describe
from archsearch.experiment import Experiment, ExperimentConfig
from archsearch.space import Architecture, Trial
from archsearch.storage import open_storage
from archsearch.strategy import Random


class Raising(Random):
    def propose(self, history: Sequence[Trial]) -> Architecture | None:
        raise Unprintable


def test_describe_falls_back_to_the_type_and_keeps_one_short_line() -> None:
    assert describe(Unprintable()).startswith("Unprintable (its message could not be made")
    assert describe(ValueError("first\nsecond")) == "ValueError: first"
    assert len(describe(ValueError("x" * 5000))) == 500


def test_a_strategy_raising_an_unprintable_error_is_recorded_and_reraised(tmp_path: Path) -> None:
    db = tmp_path / "exp.db"
    exp = Experiment(TinySpace(), FunctionalEvaluator(arch_score), Raising())
    with pytest.raises(Unprintable):  # the user's own exception, not one raised while recording
        exp.run(ExperimentConfig(storage=str(db), max_trial_number=2))
    record = open_storage(db).experiment(exp.id or "")
    assert record.status.value == "failed"
    assert record.error is not None and record.error.startswith("Unprintable")
