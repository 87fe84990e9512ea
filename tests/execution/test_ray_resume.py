"""kill -9 of a driver that started a local Ray, then resume: nothing lost or repeated, and no
Ray process of the killed run left behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from backend_jobs import gone

from archsearch.experiment import Experiment
from archsearch.space import TrialStatus
from archsearch.space.home import archsearch_home
from archsearch.storage import open_storage

EXPERIMENT_TESTS = str(Path(__file__).resolve().parents[1] / "experiment")

SCRIPT = """
import sys
sys.path.insert(0, {here!r})
from experiment_jobs import TinySpace, slow_score
from archsearch.evaluator.functional import FunctionalEvaluator
from archsearch.experiment import Experiment, ExperimentConfig
from archsearch.strategy import Random

exp = Experiment(TinySpace, FunctionalEvaluator(slow_score, seconds=1.0), Random(seed=3))
exp.run(ExperimentConfig("ray", storage={db!r}, max_trial_number=4, trial_concurrency=2))
"""


@pytest.mark.slow
def test_kill_9_then_resume_repeats_nothing_and_cleans_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(EXPERIMENT_TESTS)  # where the resumed evaluator is imported
    db = str(tmp_path / "exp.db")
    script = tmp_path / "run.py"
    script.write_text(textwrap.dedent(SCRIPT.format(here=EXPERIMENT_TESTS, db=db)))
    proc = subprocess.Popen([sys.executable, str(script)], stderr=subprocess.DEVNULL)
    storage = open_storage(db)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # one trial done, the next ones running
        found = storage.experiments()
        if found and any(t.status.finished for t in storage.trials(found[0].id)):
            break
        time.sleep(0.1)
    else:
        pytest.fail("no trial finished within 120 s")
    records = list((archsearch_home() / "ray" / "started").glob(f"{proc.pid}-*.json"))
    assert len(records) == 1, "the local Ray's processes were not recorded"
    recorded = json.loads(records[0].read_text())
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    (record,) = storage.experiments()
    before = {t.id: t for t in storage.trials(record.id) if t.status is TrialStatus.SUCCEEDED}
    assert before

    resumed = Experiment.resume(record.id, storage=db)  # starts a local Ray: cleans up first
    assert resumed.status == "done"
    for pid, _ in recorded["processes"]:
        assert gone(pid, timeout=5), f"process {pid} of the killed run's Ray is still there"
    assert not records[0].exists()
    assert not Path(recorded["session_dir"]).exists()
    trials = storage.trials(record.id)
    assert [t.status for t in trials] == [TrialStatus.SUCCEEDED] * 4
    assert {t.node for t in trials} == {os.uname().nodename}  # each Ray trial's node, stored
    for trial_id, trial in before.items():  # kept as they were, not run again
        assert trials[trial_id - 1].ended_at == trial.ended_at
