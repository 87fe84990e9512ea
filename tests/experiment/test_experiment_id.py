"""`Experiment(...).id` exists from construction, as NNI users expect (issue 13); the record is
written only when a run gets going."""

from __future__ import annotations

from pathlib import Path

import torch

import archsearch.nn as nn
from archsearch.evaluator import FunctionalEvaluator
from archsearch.experiment import Experiment, ExperimentConfig
from archsearch.storage import open_storage
from archsearch.strategy import GridSearch


class Space(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.op = nn.LayerChoice([nn.Identity(), nn.ReLU()])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.op(x)
        return out


def one(model: torch.nn.Module) -> float:
    return 1.0


def test_id_is_known_before_run_and_is_the_stored_one(tmp_path: Path) -> None:
    db = tmp_path / "exp.db"
    exp = Experiment(Space, FunctionalEvaluator(one), GridSearch())
    before = exp.id
    assert isinstance(before, str) and before
    assert not exp.stored
    exp.run(ExperimentConfig(storage=str(db)))
    assert exp.id == before and exp.stored
    (record,) = open_storage(db).experiments()
    assert record.id == before
    resumed = Experiment.resume(before, storage=db, run=False)
    assert resumed.id == before and resumed.stored


def test_each_experiment_gets_its_own_id() -> None:
    ids = {
        Experiment(Space, FunctionalEvaluator(lambda m: 1.0), GridSearch()).id for _ in range(20)
    }
    assert len(ids) == 20
