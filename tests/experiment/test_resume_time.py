"""Resume after `kill -9`: the killed run's time still counts against `max_duration`."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

from archsearch.experiment import Experiment
from archsearch.space import TrialStatus
from archsearch.storage import ExperimentStatus, open_storage

HERE = Path(__file__).resolve().parent

SCRIPT = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, sys.argv[2])
    from experiment_jobs import TinySpace, slow_score
    from archsearch.evaluator.functional import FunctionalEvaluator
    from archsearch.experiment import Experiment, ExperimentConfig
    from archsearch.strategy import Random

    if __name__ == "__main__":
        exp = Experiment(TinySpace, FunctionalEvaluator(slow_score, seconds=0.4), Random(seed=0))
        exp.run(ExperimentConfig(storage=sys.argv[1], max_trial_number=8))
    """
)


def test_a_killed_runs_time_is_counted_on_resume(tmp_path: Path) -> None:
    db = tmp_path / "exp.db"
    script = tmp_path / "search.py"
    script.write_text(SCRIPT)
    proc = subprocess.Popen([sys.executable, str(script), str(db), str(HERE)])
    try:
        end = time.monotonic() + 60
        while time.monotonic() < end:
            records = open_storage(db).experiments() if db.exists() else []
            trials = open_storage(db).trials(records[0].id) if records else []
            if sum(t.status is TrialStatus.SUCCEEDED for t in trials) >= 3:
                break
            time.sleep(0.05)
    finally:
        proc.kill()  # SIGKILL: the run never records how long it ran
        proc.wait()
    storage = open_storage(db)
    (record,) = storage.experiments()
    assert record.status is ExperimentStatus.RUNNING and "elapsed_s" not in record.spec
    assert record.started_at is not None
    killed_run = max(t.ended_at or 0.0 for t in storage.trials(record.id)) - record.started_at
    assert killed_run >= 1.2  # three trials of 0.4 s

    started = time.monotonic()
    Experiment.resume(record.id, storage=db)
    resumed_run = time.monotonic() - started
    elapsed = storage.experiment(record.id).spec["elapsed_s"]
    assert killed_run + resumed_run - 0.5 <= elapsed <= killed_run + resumed_run + 0.5
