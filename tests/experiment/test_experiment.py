"""Experiments end to end on a tiny space: budgets, failures, optimize mode, stop, resume."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from experiment_jobs import (
    NOT_UTF8,
    OpsOnly,
    TinySpace,
    bad_text,
    flaky_score,
    loss_like,
    misbehave,
    score_model,
    slow_score,
)

import archsearch
from archsearch.evaluator.functional import FunctionalEvaluator
from archsearch.experiment import (
    Experiment,
    ExperimentConfig,
    RetiariiExeConfig,
    RetiariiExperiment,
)
from archsearch.space import TrialStatus
from archsearch.storage import ExperimentStatus, open_storage
from archsearch.strategy import GridSearch, Random

HERE = Path(__file__).resolve().parent


def _config(tmp_path: Path, **settings: object) -> ExperimentConfig:
    return ExperimentConfig(storage=str(tmp_path / "exp.db"), **settings)  # type: ignore[arg-type]


def test_inline_run_stores_every_trial_and_its_metrics(tmp_path: Path) -> None:
    exp = Experiment(TinySpace(), FunctionalEvaluator(score_model, steps=3), Random(seed=0))
    status = exp.run(_config(tmp_path, max_trial_number=6))
    assert status == "done"
    storage = open_storage(tmp_path / "exp.db")
    record = storage.experiment(exp.id)
    assert record.status is ExperimentStatus.DONE
    assert record.search_space == archsearch.search_space(TinySpace()).to_json()
    trials = storage.trials(exp.id)
    assert [t.id for t in trials] == [1, 2, 3, 4, 5, 6]
    assert all(t.status is TrialStatus.SUCCEEDED for t in trials)
    assert len({json.dumps(t.arch, sort_keys=True) for t in trials}) == 6  # dedup
    for trial in trials:
        model = archsearch.fix(TinySpace(), trial.arch)
        expected = {"Linear": 0, "Identity": 1, "Tanh": 2}[type(model.op).__name__]
        assert trial.metric == pytest.approx(expected + model.head.out_features / 4)
        points = storage.metrics(exp.id, trial.id)
        assert [p.step for p in points] == [0, 1, 2]
        assert points[-1].metrics["default"] == pytest.approx(trial.metric)
        assert trial.log_path and Path(trial.log_path).exists()
        assert trial.node == socket.gethostname()  # inline: the trial ran on this machine
    best = exp.export_top_models(top_k=2)
    assert best[0] == max(trials, key=lambda t: t.metric or 0).arch
    assert len(best) == 2


def test_grid_search_runs_exactly_the_space_then_ends(tmp_path: Path) -> None:
    exp = Experiment(TinySpace, FunctionalEvaluator(score_model, steps=1), GridSearch())
    assert exp.run(_config(tmp_path, max_trial_number=100)) == "done"
    trials = open_storage(tmp_path / "exp.db").trials(exp.id)
    assert len(trials) == 12  # the strategy ran out before the budget
    (top,) = exp.export_top_models()
    assert top == {"op": "c", "width": 4}
    (model,) = exp.export_top_models(formatter="instance")
    assert not any(type(m).__module__.startswith("archsearch") for m in model.modules())


def test_failed_trials_are_recorded_and_the_experiment_goes_on(tmp_path: Path) -> None:
    exp = Experiment(TinySpace(), FunctionalEvaluator(flaky_score), GridSearch())
    exp.run(_config(tmp_path))
    trials = open_storage(tmp_path / "exp.db").trials(exp.id)
    assert len(trials) == 12
    by_op: dict[str, set[TrialStatus]] = {}
    for trial in trials:
        by_op.setdefault(trial.arch["op"], set()).add(trial.status)
    assert by_op == {
        "a": {TrialStatus.FAILED},
        "b": {TrialStatus.FAILED},
        "c": {TrialStatus.SUCCEEDED},
    }
    exploded = next(t for t in trials if t.arch["op"] == "a")
    assert "trial exploded on purpose" in (exploded.error or "")
    assert "RuntimeError" in (exploded.traceback or "")
    nan = next(t for t in trials if t.arch["op"] == "b")
    assert "nan" in (nan.error or "").lower()


def test_a_segfault_and_a_hang_fail_only_their_trials(tmp_path: Path) -> None:
    exp = Experiment(OpsOnly, FunctionalEvaluator(misbehave), GridSearch())
    config = _config(
        tmp_path, execution="local", trial_concurrency=2, max_trial_duration=3, max_duration=120
    )
    assert exp.run(config) == "done"
    trials = {t.arch["op"]: t for t in open_storage(tmp_path / "exp.db").trials(exp.id or "")}
    assert trials["crash"].status is TrialStatus.FAILED
    assert "SIGSEGV" in (trials["crash"].error or "")
    assert trials["hang"].status is TrialStatus.TIMEOUT
    assert trials["ok"].status is TrialStatus.SUCCEEDED and trials["ok"].metric == 1.0


def test_text_from_trials_that_is_not_utf8_and_unprintable_errors_fail_only_trials(
    tmp_path: Path,
) -> None:
    exp = Experiment(OpsOnly, FunctionalEvaluator(bad_text), GridSearch())
    assert exp.run(_config(tmp_path)) == "done"
    storage = open_storage(tmp_path / "exp.db")
    trials = {t.arch["op"]: t for t in storage.trials(exp.id or "")}
    stored = NOT_UTF8.encode("utf-8", "backslashreplace").decode()  # "file \\udcff"
    assert trials["crash"].status is TrialStatus.FAILED
    assert trials["crash"].error == f"RuntimeError: cannot open {stored}"
    assert stored in (trials["crash"].traceback or "")
    assert trials["hang"].status is TrialStatus.FAILED
    assert (trials["hang"].error or "").startswith("Unprintable")
    ok = trials["ok"]
    assert ok.status is TrialStatus.SUCCEEDED and ok.metrics["file"] == stored
    assert storage.metrics(exp.id or "", ok.id)[0].metrics == {"default": 0.5, "file": stored}


def test_minimize_picks_the_smallest_metric(tmp_path: Path) -> None:
    exp = Experiment(TinySpace(), FunctionalEvaluator(loss_like), GridSearch())
    exp.run(_config(tmp_path, optimize_mode="minimize"))
    assert exp.export_top_models() == [{"op": "a", "width": 1}]


def test_local_execution_runs_trials_in_workers_within_the_budget(tmp_path: Path) -> None:
    exp = Experiment(TinySpace, FunctionalEvaluator(score_model), Random(seed=1))
    config = _config(tmp_path, execution="local", trial_concurrency=2, max_trial_number=5)
    assert exp.run(config) == "done"
    trials = open_storage(tmp_path / "exp.db").trials(exp.id)
    assert len(trials) == 5
    assert all(t.status is TrialStatus.SUCCEEDED for t in trials)


def test_max_duration_cancels_running_trials_and_ends_on_time(tmp_path: Path) -> None:
    exp = Experiment(TinySpace, FunctionalEvaluator(slow_score, seconds=30), Random(seed=0))
    config = _config(tmp_path, execution="local", trial_concurrency=2, max_duration=3)
    started = time.monotonic()
    assert exp.run(config) == "done"
    assert time.monotonic() - started < 25
    trials = open_storage(tmp_path / "exp.db").trials(exp.id)
    assert trials and all(t.status is TrialStatus.CANCELLED for t in trials)


def test_stop_from_another_thread(tmp_path: Path) -> None:
    exp = Experiment(TinySpace(), FunctionalEvaluator(slow_score, seconds=0.2), Random(seed=0))
    timer = threading.Timer(1.0, exp.stop)
    timer.start()
    assert exp.run(_config(tmp_path, max_trial_number=100)) == "stopped"
    record = open_storage(tmp_path / "exp.db").experiment(exp.id or "")
    assert record.status is ExperimentStatus.STOPPED
    assert 1 <= len(open_storage(tmp_path / "exp.db").trials(exp.id or "")) < 12


def test_trials_cut_short_by_a_stop_run_again_on_resume(tmp_path: Path) -> None:
    evaluator = FunctionalEvaluator(slow_score, seconds=1.0)
    exp = Experiment(TinySpace, evaluator, Random(seed=0))
    config = _config(tmp_path, execution="local", trial_concurrency=2, max_trial_number=6)

    def stop_once_a_trial_finished() -> None:
        while not exp.stored:
            time.sleep(0.05)
        storage = open_storage(tmp_path / "exp.db")
        while not any(t.status.finished for t in storage.trials(exp.id)):
            time.sleep(0.05)
        exp.stop()  # the other worker's trial is still running: it is cancelled

    threading.Thread(target=stop_once_a_trial_finished, daemon=True).start()
    assert exp.run(config) == "stopped"
    storage = open_storage(tmp_path / "exp.db")
    stopped = storage.trials(exp.id or "")
    assert any(t.status is TrialStatus.CANCELLED for t in stopped)
    Experiment.resume(exp.id or "", storage=tmp_path / "exp.db")
    trials = storage.trials(exp.id or "")
    assert [t.id for t in trials] == [1, 2, 3, 4, 5, 6]
    assert all(t.status is TrialStatus.SUCCEEDED for t in trials)


def test_stop_requested_through_storage(tmp_path: Path) -> None:
    exp = Experiment(TinySpace(), FunctionalEvaluator(slow_score, seconds=0.2), Random(seed=0))

    def ask_to_stop() -> None:
        while not exp.stored:
            time.sleep(0.05)
        open_storage(tmp_path / "exp.db").request_stop(exp.id)

    threading.Thread(target=ask_to_stop, daemon=True).start()
    assert exp.run(_config(tmp_path, max_trial_number=100)) == "stopped"


RUN_SCRIPT = """
import sys
sys.path.insert(0, {here!r})
from experiment_jobs import TinySpace, slow_score
from archsearch.evaluator.functional import FunctionalEvaluator
from archsearch.experiment import Experiment, ExperimentConfig
from archsearch.strategy import Random

if __name__ == "__main__":
    exp = Experiment(TinySpace, FunctionalEvaluator(slow_score, seconds=0.4), Random(seed=3))
    config = ExperimentConfig({execution!r}, storage={db!r}, max_trial_number=8,
                              trial_concurrency={concurrency})
    exp.run(config)
"""


@pytest.mark.slow
@pytest.mark.parametrize(("execution", "concurrency"), [("inline", 1), ("local", 2)])
def test_kill_and_resume_loses_and_duplicates_nothing(
    tmp_path: Path, execution: str, concurrency: int
) -> None:
    db = str(tmp_path / "exp.db")
    script = tmp_path / "run.py"
    script.write_text(
        textwrap.dedent(
            RUN_SCRIPT.format(here=str(HERE), execution=execution, db=db, concurrency=concurrency)
        )
    )
    proc = subprocess.Popen([sys.executable, str(script)], start_new_session=True)
    storage = open_storage(db)
    deadline = time.monotonic() + 120
    finished: list[archsearch.space.Trial] = []
    while time.monotonic() < deadline:
        experiments = storage.experiments()
        if experiments:
            finished = [t for t in storage.trials(experiments[0].id) if t.status.finished]
            if len(finished) >= 3:
                break
        time.sleep(0.05)
    assert len(finished) >= 3, "the experiment did not get going"
    os.killpg(proc.pid, signal.SIGKILL)  # the runner and its workers, like a lost machine
    proc.wait()
    (record,) = storage.experiments()
    assert record.status is ExperimentStatus.RUNNING  # nobody could record the end
    before = {t.id: t for t in storage.trials(record.id) if t.status.finished}

    Experiment.resume(record.id, storage=db)

    trials = storage.trials(record.id)
    assert [t.id for t in trials] == list(range(1, 9))  # total = budget, no duplicates
    assert all(t.status is TrialStatus.SUCCEEDED for t in trials)
    for trial_id, trial in before.items():
        assert trials[trial_id - 1] == trial  # finished trials untouched
    assert len({json.dumps(t.arch, sort_keys=True) for t in trials}) == 8
    assert storage.experiment(record.id).status is ExperimentStatus.DONE


def test_resume_refuses_an_experiment_that_still_runs(tmp_path: Path) -> None:
    db = str(tmp_path / "exp.db")
    script = tmp_path / "run.py"
    script.write_text(
        textwrap.dedent(RUN_SCRIPT.format(here=str(HERE), execution="inline", db=db, concurrency=1))
    )
    proc = subprocess.Popen([sys.executable, str(script)])
    try:
        storage = open_storage(db)
        deadline = time.monotonic() + 60
        running = ExperimentStatus.RUNNING
        while time.monotonic() < deadline and not any(
            e.status is running for e in storage.experiments()
        ):
            time.sleep(0.05)
        (record,) = storage.experiments()
        with pytest.raises(RuntimeError, match=f"running in process {proc.pid}.*archsearch stop"):
            Experiment.resume(record.id, storage=db, run=False)
    finally:
        proc.kill()
        proc.wait()


def test_local_debug_run_returns_the_first_candidates_metric() -> None:
    exp = Experiment(TinySpace(), FunctionalEvaluator(score_model), Random())
    assert exp.local_debug_run() == pytest.approx(0.25)  # op 'a' (Linear), width 1


def test_config_checks_each_setting_where_it_is_written() -> None:
    config = RetiariiExeConfig("local")
    config.trial_concurrency = 2
    config.max_duration = "2h"
    assert config.max_duration == 7200
    with pytest.raises(ValueError, match="trial_concurrency must be an integer >= 1"):
        config.trial_concurrency = 0
    with pytest.raises(ValueError, match="execution must be one of"):
        ExperimentConfig("remote")
    with pytest.raises(ValueError, match="optimize_mode"):
        ExperimentConfig(optimize_mode="max")
    with pytest.raises(AttributeError, match="max_trial_numbr"):
        config.max_trial_numbr = 3  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="inline"):
        ExperimentConfig(trial_concurrency=2).validate()


def test_retiarii_call_shape_and_bad_input() -> None:
    evaluator = FunctionalEvaluator(score_model)
    exp = RetiariiExperiment(TinySpace(), evaluator, None, Random())
    assert exp.search_space.size() == 12
    with pytest.raises(TypeError, match="mutators"):
        RetiariiExperiment(TinySpace(), evaluator, [object()], Random())
    with pytest.raises(TypeError, match="Evaluator"):
        Experiment(TinySpace(), score_model, Random())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Strategy"):
        Experiment(TinySpace(), evaluator, "random")  # type: ignore[arg-type]


def test_run_with_a_port_serves_the_dashboard_and_a_second_run_reuses_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exp = Experiment(TinySpace(), FunctionalEvaluator(score_model), Random(seed=0))
    exp.run(_config(tmp_path, max_trial_number=3), port=0)
    first = [line for line in capsys.readouterr().out.splitlines() if "dashboard:" in line]
    assert len(first) == 1
    url = first[0].split("dashboard:", 1)[1].split()[0].split("#")[0].rstrip("/")
    with urllib.request.urlopen(f"{url}/api/experiments/{exp.id}/trials", timeout=10) as reply:
        page = json.loads(reply.read())
    assert page["total"] == 3
    exp.run(port=0)  # the budget is spent: ends at once, same dashboard
    second = [line for line in capsys.readouterr().out.splitlines() if "dashboard:" in line]
    assert second == first
