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
from cli_helpers import cli

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


SPACE_MODULE = """
import time

import torch

import archsearch.nn as nn


class Space(nn.Module):
    def __init__(self):
        super().__init__()
        self.op = nn.LayerChoice({"a": nn.Identity(), "b": nn.Tanh(), "c": nn.Sigmoid()})
        self.act = nn.LayerChoice({"relu": nn.ReLU(), "none": nn.Identity()})

    def forward(self, x):
        return self.act(self.op(x))


def score(model, seconds):
    time.sleep(seconds)
    return float(model(torch.ones(1)).sum())
"""

SEARCH_SCRIPT = """
import sys

from space_mod import Space, score  # a module beside the script, as in examples/

from archsearch.evaluator import FunctionalEvaluator
from archsearch.experiment import Experiment, ExperimentConfig
from archsearch.strategy import GridSearch

if __name__ == "__main__":
    experiment = Experiment(Space, FunctionalEvaluator(score, seconds=0.5), GridSearch())
    experiment.run(ExperimentConfig("inline", storage=sys.argv[1], max_trial_number=6))
"""


def test_resume_from_another_folder_finds_the_scripts_modules(tmp_path: Path) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "space_mod.py").write_text(SPACE_MODULE)
    (folder / "search.py").write_text(SEARCH_SCRIPT)
    db = str(tmp_path / "exp.db")
    proc = subprocess.Popen([sys.executable, str(folder / "search.py"), db], cwd=folder)
    try:
        end = time.monotonic() + 60
        while time.monotonic() < end:
            experiments = open_storage(db).experiments() if Path(db).exists() else []
            if experiments and any(
                t.status is TrialStatus.SUCCEEDED
                for t in open_storage(db).trials(experiments[0].id)
            ):
                break
            time.sleep(0.1)
    finally:
        proc.kill()  # like kill -9: the experiment stays "running", its process gone
        proc.wait()
    (record,) = open_storage(db).experiments()

    def resume() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*ARCHSEARCH, "resume", record.id, "--storage", db],
            cwd=tmp_path,  # not the script's folder
            capture_output=True,
            text=True,
            timeout=120,
        )

    (folder / "space_mod.py").rename(folder / "moved.py")
    result = resume()
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1].startswith(
        f"error: experiment {record.id}: cannot load its stored model space space_mod:Space "
        f"(saved by {folder / 'search.py'}): ModuleNotFoundError"
    )
    (folder / "moved.py").rename(folder / "space_mod.py")
    result = resume()
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"experiment {record.id} done: 6 trials (6 succeeded)" in result.stdout


def test_a_reader_that_leaves_early_gets_no_error(tmp_path: Path) -> None:
    db = str(tmp_path / "exp.db")
    storage = open_storage(db)
    for i in range(50):
        storage.create_experiment(
            ExperimentRecord(id=f"e{i}", name="x" * 80, config={}, created_at=time.time())
        )
    # `archsearch list | head -1`: the reader is gone before the command writes.
    proc = subprocess.Popen(
        [*ARCHSEARCH, "list", "--storage", db], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert stderr == ""
