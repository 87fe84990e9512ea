"""What the CLI says when something is wrong: failing trials, a store that is missing or not
ours, resuming what cannot be resumed. Real commands on real SQLite files; pure-Python trials."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from classic.trial_scripts import SPACE_JSON, write_scripts

from archsearch.cli.main import main
from archsearch.space import TrialStatus
from archsearch.storage import ExperimentRecord, ExperimentStatus, open_storage

ARCHSEARCH = [sys.executable, "-m", "archsearch.cli.main"]


def write_config(folder: Path, script: str, max_trials: int = 3) -> Path:
    write_scripts(folder / "code")
    (folder / "search_space.json").write_text(json.dumps(SPACE_JSON))
    path = folder / "config.yml"
    path.write_text(
        f"""
experimentName: errors
trialCommand: {sys.executable} {script}
trialCodeDirectory: code
searchSpaceFile: search_space.json
tuner: {{name: Random, classArgs: {{seed: 0}}}}
trialConcurrency: 1
maxTrialNumber: {max_trials}
"""
    )
    return path


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def run(config: Path, db: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ARCHSEARCH, "run", str(config), "--storage", db],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_summary_says_why_trials_failed_and_where_the_log_is(tmp_path: Path) -> None:
    db = str(tmp_path / "exp.db")
    result = run(write_config(tmp_path, "mistyped.py"), db)
    assert result.returncode == 0, result.stderr[-3000:]
    storage = open_storage(db)
    (record,) = storage.experiments()
    trials = storage.trials(record.id)
    assert all(t.status is TrialStatus.FAILED for t in trials)
    last = max(trials, key=lambda t: (t.ended_at or 0.0, t.id))
    lines = result.stdout.splitlines()
    failure = next(line for line in lines if line.startswith("last failure: "))
    assert failure.startswith(f"last failure: trial #{last.id}: TrialScriptError: ")
    assert "mistyped.py" in failure and "exited with code 2" in failure
    assert f"  its log:    {last.log_path}" in lines
    # Nothing succeeded, so there is nothing to export.
    assert not any(line.startswith("export:") for line in lines)


def test_a_done_experiment_is_not_resumed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "exp.db")
    assert run(write_config(tmp_path, "score.py", max_trials=2), db).returncode == 0
    storage = open_storage(db)
    (record,) = storage.experiments()
    code, out, err = cli(capsys, "resume", record.id, "--storage", db)
    assert code == 1 and out == ""
    assert err.startswith(f"error: experiment {record.id} is done") and "stopped" in err
    after = storage.experiment(record.id)
    assert (after.started_at, after.ended_at) == (record.started_at, record.ended_at)


def test_read_only_commands_never_create_a_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "typo" / "exp.db"
    code, out, _ = cli(capsys, "list", "--storage", str(missing))
    assert code == 0 and out.strip() == f"no experiments in {missing} (no such file)"
    for command in (["export", "abc"], ["stop", "abc"], ["resume", "abc"], ["view"]):
        code, out, err = cli(capsys, *command, "--storage", str(missing))
        assert code == 1, command
        assert err.startswith(f"error: no experiment store at {missing}"), err
    assert not missing.parent.exists()


def test_a_file_that_is_not_a_store_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "notes.txt"
    other.write_text("not a database\n" * 100)
    for command in (["list"], ["export", "abc"], ["stop", "abc"]):
        code, _, err = cli(capsys, *command, "--storage", str(other))
        assert code == 1, command
        assert err == f"error: {other} is not an SQLite database: file is not a database\n"
    result = run(write_config(tmp_path, "score.py"), str(other))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {other} is not an SQLite database: file is not a database"
    ]


def test_list_shows_a_one_shot_runs_final_metric(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "exp.db")
    storage = open_storage(db)
    storage.create_experiment(
        ExperimentRecord(
            id="os1", name="darts run", kind="oneshot", config={}, created_at=time.time()
        )
    )
    storage.add_trial("os1", {"op": "conv3"})
    storage.start_trial("os1", 1)
    storage.finish_trial("os1", 1, TrialStatus.SUCCEEDED, metric=0.8125)
    storage.update_experiment("os1", status=ExperimentStatus.DONE)
    code, out, _ = cli(capsys, "list", "--storage", db)
    assert code == 0
    assert out.splitlines()[1].split()[:6] == ["os1", "darts", "run", "oneshot", "done", "-"]
    assert out.splitlines()[1].split()[6] == "0.8125"
