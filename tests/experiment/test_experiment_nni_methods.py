"""NNI's Experiment methods beyond run: `local_debug_run()` in the Retiarii document's shape,
`get_status()`, `view(non_blocking=True)`, and `resume` refusing a finished experiment."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
import torch
from experiment_jobs import TinySpace, score_model, slow_score

import archsearch.evaluator as pl
import archsearch.nn as nn
import archsearch.strategy as strategy
from archsearch.evaluator.functional import FunctionalEvaluator
from archsearch.experiment import (
    Experiment,
    ExperimentConfig,
    RetiariiExeConfig,
    RetiariiExperiment,
)
from archsearch.space import Architecture, Trial
from archsearch.storage import ExperimentStatus
from archsearch.strategy import Random


class Net(nn.Module):
    """8×8 digits through a choice of two heads."""

    def __init__(self) -> None:
        super().__init__()
        self.head = nn.LayerChoice(
            [
                nn.Sequential(nn.Flatten(), nn.Linear(64, 10)),
                nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 10)),
            ]
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.head(x)
        return out


def test_local_debug_run_in_the_documents_shape_runs_one_trial_and_stores_nothing() -> None:
    pytest.importorskip("pytorch_lightning")
    torch.manual_seed(0)
    split = pl.load_digits()
    trainer = pl.Classification(
        train_dataloader=pl.DataLoader(split.train, batch_size=100),
        val_dataloaders=pl.DataLoader(split.test, batch_size=100),
        max_epochs=1,
        learning_rate=0.01,
    )
    base_model = Net()
    simple_strategy = strategy.Random(dedup=True)
    exp = RetiariiExperiment(base_model, trainer, None, simple_strategy)
    exp_config = RetiariiExeConfig("local")
    exp_config.experiment_name = "mnasnet_search"
    accuracy = exp.local_debug_run()  # instead of exp.run(exp_config, 8081)
    assert isinstance(accuracy, float)
    assert 0.2 < accuracy <= 1.0
    assert exp.status is None  # the experiment itself never ran


# --- get_status ------------------------------------------------------------------------------


def _config(tmp_path: Path, **settings: Any) -> ExperimentConfig:
    return ExperimentConfig(storage=str(tmp_path / "e.db"), **settings)


def _wait_for(condition: Callable[[], bool], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


class Broken(Random):
    """A strategy that fails once asked: the runner itself fails."""

    def propose(self, history: Sequence[Trial]) -> Architecture | None:
        raise RuntimeError("the strategy broke on purpose")


def test_get_status_follows_the_experiment_with_nnis_strings(tmp_path: Path) -> None:
    exp = Experiment(TinySpace(), FunctionalEvaluator(slow_score, seconds=2.0), Random(seed=0))
    assert exp.get_status() == "INITIALIZED"
    assert not (tmp_path / "e.db").exists()  # asking opened no store
    thread = threading.Thread(target=exp.run, args=(_config(tmp_path, max_trial_number=5),))
    thread.start()
    _wait_for(lambda: exp.get_status() == "RUNNING")
    exp.stop()
    assert exp.get_status() == "STOPPING"  # the running trial still has a second or two
    thread.join(60)
    assert exp.get_status() == "STOPPED"

    done = Experiment(TinySpace(), FunctionalEvaluator(score_model), Random(seed=0))
    done.run(_config(tmp_path, max_trial_number=2))
    assert done.get_status() == "DONE"

    failed = Experiment(TinySpace(), FunctionalEvaluator(score_model), Broken())
    with pytest.raises(RuntimeError, match="broke on purpose"):
        failed.run(_config(tmp_path, max_trial_number=2))
    assert failed.get_status() == "ERROR"


def test_an_interrupted_experiment_reads_stopped_and_a_done_one_is_not_resumed(
    tmp_path: Path,
) -> None:
    db = str(tmp_path / "e.db")
    exp = Experiment(TinySpace(), FunctionalEvaluator(score_model), Random(seed=0))
    exp.run(_config(tmp_path, max_trial_number=2))
    with pytest.raises(ValueError, match=f"experiment {exp.id} is done .* only a stopped or"):
        Experiment.resume(exp.id, storage=db)  # as `archsearch resume` refuses it
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    # A runner killed with SIGKILL leaves its record "running" under a process that is gone.
    exp.storage.update_experiment(exp.id, status=ExperimentStatus.RUNNING, pid=process.pid)
    assert exp.get_status() == "STOPPED"
    resumed = Experiment.resume(exp.id, storage=db, run=False)
    assert resumed.get_status() == "STOPPED"
    # NNI users resume through the class they ran, whose constructor takes other arguments.
    retiarii = RetiariiExperiment.resume(exp.id, storage=db, run=False)
    assert isinstance(retiarii, RetiariiExperiment) and retiarii.id == exp.id


# --- view --------------------------------------------------------------------------------------


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as reply:
            return bool(reply.status == 200)
    except OSError:
        return False


def test_view_non_blocking_returns_a_stoppable_dashboard_and_stop_closes_runs_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "e.db")
    exp = Experiment(TinySpace(), FunctionalEvaluator(score_model), Random(seed=0))
    exp.run(_config(tmp_path, max_trial_number=2), port=0)
    served = [line for line in capsys.readouterr().out.splitlines() if "dashboard:" in line]
    run_url = served[0].split("dashboard:", 1)[1].split()[0].split("#")[0]
    assert _answers(f"{run_url}api/experiments")

    handle = Experiment.view(exp.id, 0, non_blocking=True, storage=db)  # returns at once
    assert handle is not None
    assert handle.url in capsys.readouterr().out
    api = handle.url.split("#")[0] + f"api/experiments/{exp.id}/trials"
    with urllib.request.urlopen(api, timeout=10) as reply:
        assert json.loads(reply.read())["total"] == 2
    handle.stop()
    assert not handle.running and not _answers(api)

    exp.stop()  # NNI's stop(): the dashboard run() started stops too
    assert not _answers(f"{run_url}api/experiments")
