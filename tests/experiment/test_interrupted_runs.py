"""What could end a whole run from inside one trial or from outside at the wrong moment: Ctrl-C
during an inline trial, sys.exit() or unstorable metrics in a trial, a refused job, a stop
while the run starts or one its killed run never saw."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from experiment_jobs import TinySpace, arch_score

from archsearch.evaluator.functional import FunctionalEvaluator
from archsearch.experiment import Experiment, ExperimentConfig
from archsearch.space import TrialStatus
from archsearch.storage import ExperimentStatus, open_storage
from archsearch.strategy import Random


def ctrl_c(model: torch.nn.Module) -> float:
    """The user presses Ctrl-C while this trial runs (a real SIGINT to this process)."""
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(5)  # the KeyboardInterrupt arrives here
    return arch_score(model)


def exit_on_tanh(model: torch.nn.Module) -> float:
    """sys.exit() in a trial (argparse on a bad flag does this) for op 'c', a score otherwise."""
    if type(model.op).__name__ == "Tanh":
        sys.exit(2)
    return arch_score(model)


def test_a_job_the_backend_refuses_ends_the_run_at_once_with_its_error(tmp_path: Path) -> None:
    # 2 GPUs per trial out of the one given: the local backend refuses at the first submit.
    # The run must fail with that error now, not after waiting 30 s for a result that no
    # trial will send; the trial that never ran is recorded so and runs on resume.
    db = tmp_path / "exp.db"
    exp = Experiment(TinySpace, FunctionalEvaluator(arch_score), Random(seed=0))
    config = ExperimentConfig("local", storage=str(db), max_trial_number=3, trial_gpu_number=2)
    config.training_service.gpu_indices = [0]
    begun = time.monotonic()
    with pytest.raises(ValueError, match="gpus_per_trial=2"):
        exp.run(config)
    assert time.monotonic() - begun < 10.0
    storage = open_storage(db)
    record = storage.experiment(exp.id or "")
    assert record.status is ExperimentStatus.FAILED
    assert record.error is not None and "gpus_per_trial=2" in record.error
    (trial,) = storage.trials(exp.id or "")
    assert trial.status is TrialStatus.CANCELLED
    assert trial.error is not None and trial.error.startswith("not run")


class SlowToBuild(TinySpace):
    """A model space whose construction takes a while (a big model, a download)."""

    def __init__(self) -> None:
        time.sleep(0.5)
        super().__init__()


def test_a_stop_asked_while_the_run_is_starting_is_not_lost(tmp_path: Path) -> None:
    exp = Experiment(SlowToBuild, FunctionalEvaluator(arch_score), Random(seed=0))
    config = ExperimentConfig(storage=str(tmp_path / "exp.db"), max_trial_number=4)
    outcome: list[str] = []
    runner = threading.Thread(target=lambda: outcome.append(exp.run(config)))
    runner.start()
    time.sleep(0.2)  # run() is building the search space: its loop has not begun
    exp.stop()
    runner.join(60)
    assert outcome == ["stopped"]
    assert open_storage(tmp_path / "exp.db").trials(exp.id or "") == []


def numpy_extras(model: torch.nn.Module) -> dict[str, object]:
    """A score plus per-class values as numpy floats (`list(array)`), which JSON cannot hold."""
    return {"default": arch_score(model), "per_class": list(np.ones(2, dtype=np.float32))}


def test_metrics_the_store_cannot_keep_fail_only_their_trial(tmp_path: Path) -> None:
    db = tmp_path / "exp.db"
    exp = Experiment(TinySpace(), FunctionalEvaluator(numpy_extras), Random(seed=0))
    assert exp.run(ExperimentConfig(storage=str(db), max_trial_number=2)) == "done"
    trials = open_storage(db).trials(exp.id or "")
    assert [t.status for t in trials] == [TrialStatus.FAILED] * 2
    assert all(t.error is not None and "per_class" in t.error for t in trials)


def test_ctrl_c_during_an_inline_trial_stops_at_once_and_records_it(tmp_path: Path) -> None:
    db = tmp_path / "exp.db"
    exp = Experiment(TinySpace(), FunctionalEvaluator(ctrl_c), Random(seed=0))
    begun = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        exp.run(ExperimentConfig(storage=str(db), max_trial_number=4))
    # Not the runner's 30 s wait for a result that an inline backend would never send.
    assert time.monotonic() - begun < 10.0
    storage = open_storage(db)
    assert storage.experiment(exp.id or "").status is ExperimentStatus.STOPPED
    (trial,) = storage.trials(exp.id or "")
    assert trial.status is TrialStatus.CANCELLED
    assert trial.error is not None and "KeyboardInterrupt" in trial.error


@pytest.mark.parametrize("execution", ["inline", "threads"])
def test_sys_exit_in_a_trial_fails_only_that_trial(tmp_path: Path, execution: str) -> None:
    db = tmp_path / "exp.db"
    exp = Experiment(TinySpace(), FunctionalEvaluator(exit_on_tanh), Random(seed=0))
    config = ExperimentConfig(execution, storage=str(db), max_trial_number=12)
    assert exp.run(config) == "done"
    trials = open_storage(db).trials(exp.id or "")
    assert len(trials) == 12
    exits = [t for t in trials if t.status is TrialStatus.FAILED]
    assert len(exits) == 4  # op 'c' with each of the 4 widths
    assert all(t.error == "SystemExit: 2" for t in exits)
    assert all(t.status is TrialStatus.SUCCEEDED for t in trials if t not in exits)


KILLED_SCRIPT = """
import sys
sys.path.insert(0, {here!r})
from experiment_jobs import TinySpace, slow_score
from archsearch.evaluator.functional import FunctionalEvaluator
from archsearch.experiment import Experiment, ExperimentConfig
from archsearch.strategy import Random

exp = Experiment(TinySpace, FunctionalEvaluator(slow_score, seconds=0.3), Random(seed=1))
exp.run(ExperimentConfig(storage={db!r}, max_trial_number=5))
"""


def test_a_stop_its_killed_run_never_saw_does_not_stop_the_resumption(tmp_path: Path) -> None:
    # `archsearch stop` asked, the runner was killed before it looked (the user gave up
    # waiting and sent SIGKILL): resuming is a new request to run, not that run's stop.
    db = str(tmp_path / "exp.db")
    script = tmp_path / "run.py"
    here = str(Path(__file__).resolve().parent)
    script.write_text(textwrap.dedent(KILLED_SCRIPT.format(here=here, db=db)))
    proc = subprocess.Popen([sys.executable, str(script)])
    storage = open_storage(db)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        experiments = storage.experiments()
        if experiments and any(t.status.finished for t in storage.trials(experiments[0].id)):
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGSTOP)  # frozen: it cannot see the request below
    (record,) = storage.experiments()
    storage.request_stop(record.id)
    proc.kill()
    proc.wait()

    assert Experiment.resume(record.id, storage=db).status == "done"
    trials = storage.trials(record.id)
    assert [t.status for t in trials] == [TrialStatus.SUCCEEDED] * 5
