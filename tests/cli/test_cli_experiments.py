"""`archsearch run`, `list`, `export`, `stop`, `resume` as real commands on real SQLite files.

Trials are pure-Python scripts (no torch), so an experiment of a few trials takes seconds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from classic.trial_scripts import SPACE_JSON, write_scripts
from cli_helpers import cli

from archsearch.space import TrialStatus
from archsearch.storage import ExperimentRecord, ExperimentStatus, open_storage

ARCHSEARCH = [sys.executable, "-m", "archsearch.cli.main"]


def write_config(folder: Path, max_trials: int, tuner: str = "Random") -> Path:
    write_scripts(folder / "code")
    (folder / "search_space.json").write_text(json.dumps(SPACE_JSON))
    path = folder / "config.yml"
    path.write_text(
        f"""
experimentName: script search
trialCommand: {sys.executable} score.py
trialCodeDirectory: code
searchSpaceFile: search_space.json
tuner:
  name: {tuner}
  classArgs:
    seed: 0
trialConcurrency: 2
maxTrialNumber: {max_trials}
"""
    )
    return path


def test_run_then_list_and_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "exp.db")
    config = write_config(tmp_path, max_trials=5)
    run = subprocess.run(
        [*ARCHSEARCH, "run", str(config), "--storage", db],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    storage = open_storage(db)
    (record,) = storage.experiments()
    trials = storage.trials(record.id)
    assert [t.id for t in trials] == [1, 2, 3, 4, 5]
    assert all(t.status is TrialStatus.SUCCEEDED for t in trials)
    assert len({json.dumps(t.arch, sort_keys=True) for t in trials}) == 5  # Random dedups
    best = max(trials, key=lambda t: t.metric or 0.0)
    assert f"experiment {record.id} done: 5 trials (5 succeeded)" in run.stdout
    assert f"best trial #{best.id}: {best.metric:.6g}" in run.stdout
    assert f"archsearch view {record.id} --storage {db}" in run.stdout
    # Every trial's output went to its own log, and its reports to storage.
    log = Path(trials[0].log_path or "")
    assert "trial parameters:" in log.read_text() and "a line on stderr" in log.read_text()
    assert [p.step for p in storage.metrics(record.id, 1)] == [0, 1, 2]

    code, out, _ = cli(capsys, "list", "--storage", db)
    assert code == 0
    header, row = out.splitlines()
    assert header.split() == [
        "ID",
        "NAME",
        "KIND",
        "STATUS",
        "TRIALS",
        "BEST",
        "STARTED",
        "DURATION",
    ]
    assert row.startswith(f"{record.id}  script search  multi-trial  done")
    assert " 5/5 " in row and f" {best.metric:.4g} " in row
    assert header.index("STATUS") == row.index("done")  # aligned columns

    code, out, _ = cli(capsys, "export", record.id, "--top-k", "2", "--storage", db)
    assert code == 0
    exported = json.loads(out)
    ranked = sorted(trials, key=lambda t: (-(t.metric or 0.0), t.id))[:2]
    assert [e["trial"] for e in exported] == [t.id for t in ranked]
    assert exported[0] == {
        "rank": 1,
        "trial": best.id,
        "metric": best.metric,
        "metrics": {"default": best.metric},
        "arch": best.arch,
    }
    out_file = tmp_path / "best.json"
    assert cli(capsys, "export", record.id, "--output", str(out_file), "--storage", db)[0] == 0
    assert json.loads(out_file.read_text()) == exported[:1]


def _wait_for(storage_path: str, predicate: object, timeout: float = 60.0) -> ExperimentRecord:
    storage = open_storage(storage_path)
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for record in storage.experiments():
            if predicate(storage, record):  # type: ignore[operator]
                return record
        time.sleep(0.1)
    raise AssertionError("the background experiment did not reach the expected state")


def test_stop_a_running_experiment_then_resume_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = str(tmp_path / "exp.db")
    config = write_config(tmp_path, max_trials=6)
    env = {**os.environ, "SLEEP": "0.4"}  # each trial takes ~1.2 s
    proc = subprocess.Popen(
        [*ARCHSEARCH, "run", str(config), "--storage", db],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:

        def busy(storage: object, record: ExperimentRecord) -> bool:
            trials = storage.trials(record.id)  # type: ignore[attr-defined]
            done = [t for t in trials if t.status is TrialStatus.SUCCEEDED]
            running = [t for t in trials if t.status is TrialStatus.RUNNING]
            return len(done) >= 1 and len(running) >= 1

        record = _wait_for(db, busy)
        code, out, _ = cli(capsys, "list", "--storage", db)
        assert " running " in out.splitlines()[1]
        code, out, _ = cli(capsys, "stop", record.id, "--storage", db)
        assert code == 0
        assert f"stop requested for experiment {record.id} (process {proc.pid})" in out
        assert f"experiment {record.id} stopped; `archsearch resume {record.id}`" in out
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr[-3000:]
    assert f"continue it:  archsearch resume {record.id} --storage {db}" in stdout
    storage = open_storage(db)
    assert storage.experiment(record.id).status is ExperimentStatus.STOPPED
    before = storage.trials(record.id)
    assert all(t.status.finished for t in before)  # the running ones were cancelled
    assert 2 <= len(before) < 6
    kept = {t.id: t for t in before if t.status is TrialStatus.SUCCEEDED}
    assert kept

    code, out, _ = cli(capsys, "stop", record.id, "--storage", db)
    assert code == 0 and "is not running (stopped); nothing to stop" in out

    monkeypatch.setenv("SLEEP", "0")
    code, out, _ = cli(capsys, "resume", record.id, "--storage", db)
    assert code == 0
    assert f"experiment {record.id} done: 6 trials" in out
    after = storage.trials(record.id)
    assert [t.id for t in after] == [1, 2, 3, 4, 5, 6]  # the budget, nothing duplicated
    assert all(t.status.finished for t in after)
    for trial_id, trial in kept.items():
        assert after[trial_id - 1] == trial  # finished trials untouched
    assert len({json.dumps(t.arch, sort_keys=True) for t in after}) == 6
    assert storage.experiment(record.id).status is ExperimentStatus.DONE


def test_interrupted_experiments_and_unknown_ids(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "exp.db")
    assert cli(capsys, "list", "--storage", db)[1].startswith("no experiments in ")
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a process id that no longer exists
    storage = open_storage(db)
    storage.create_experiment(
        ExperimentRecord(
            id="abc123", name="lost", config={"max_trial_number": 3}, created_at=time.time()
        )
    )
    storage.update_experiment(
        "abc123", status=ExperimentStatus.RUNNING, started_at=time.time() - 65, pid=gone.pid
    )
    code, out, _ = cli(capsys, "list", "--storage", db)
    assert code == 0
    row = out.splitlines()[1].split()
    assert row[:5] == ["abc123", "lost", "multi-trial", "interrupted", "0/3"]
    code, out, _ = cli(capsys, "stop", "abc123", "--storage", db)
    assert code == 0 and "interrupted" in out and "archsearch resume abc123" in out

    for command in (["resume", "nope"], ["stop", "nope"], ["export", "nope"]):
        code, out, err = cli(capsys, *command, "--storage", db)
        assert code == 1, command
        assert err.startswith("error: ") and "nope" in err and "Traceback" not in err
    code, _, err = cli(capsys, "export", "abc123", "--top-k", "0", "--storage", db)
    assert code == 1 and "--top-k must be at least 1" in err
