"""The contract every backend keeps (execution/base.py), checked on each backend of
`execution.BACKENDS` and on the example backend (examples/custom_backend.py)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from backend_jobs import Forward, NaN, Raise, Say, Sleep, Steps, Tiny, job, results, run_all

from archsearch.execution import (
    Backend,
    InlineBackend,
    Job,
    MetricReport,
    Ref,
    ThreadBackend,
    TrialResult,
    TrialStarted,
)
from archsearch.space import TrialStatus


def test_every_job_yields_exactly_one_result(backend: Backend) -> None:
    acts = ["relu", "tanh", "relu", "tanh", "tanh"]
    jobs = [job(i, Forward(), act=act) for i, act in enumerate(acts)]
    events = run_all(backend, jobs)
    done = results(events)
    assert sorted(done) == list(range(len(acts)))
    for i, act in enumerate(acts):
        assert done[i].status is TrialStatus.SUCCEEDED, done[i].traceback
        # relu(-1) + relu(1) = 1; tanh(-1) + tanh(1) = 0: the architecture reached the model
        assert done[i].metric == pytest.approx(1.0 if act == "relu" else 0.0)
        assert done[i].started_at is not None and done[i].ended_at is not None
    assert backend.poll(0.2) == []  # nothing more arrives
    assert backend.running() == 0


def test_live_refs_and_model_instances_work_in_process(backend: Backend) -> None:
    # A model instance (not a class) as the model space; inline may use Ref.live.
    inline = isinstance(backend, InlineBackend)
    space = Ref.live(Tiny()) if inline else Ref.of(Tiny(), "model space")
    item = Job("test", 0, {"act": "tanh"}, space, Ref.of(Forward(), "evaluator"))
    (result,) = results(run_all(backend, [item])).values()
    assert result.status is TrialStatus.SUCCEEDED, result.traceback
    assert result.metric == pytest.approx(0.0)


def test_reports_arrive_in_order_before_the_result(backend: Backend) -> None:
    events = run_all(backend, [job(1, Steps(5)), job(2, Steps(3))])
    for trial_id, n in ((1, 5), (2, 3)):
        mine = [e for e in events if e.trial_id == trial_id and not isinstance(e, TrialStarted)]
        assert [e.step for e in mine[:-1] if isinstance(e, MetricReport)] == list(range(n))
        assert isinstance(mine[-1], TrialResult) and len(mine) == n + 1
        reports = [e for e in mine if isinstance(e, MetricReport)]
        assert reports[1].metrics == {"default": 0.1, "loss": 0.9}
        assert all(a.time <= b.time for a, b in itertools.pairwise(reports))
        result = mine[-1]
        assert result.status is TrialStatus.SUCCEEDED
        assert result.metric == 0.9 and result.metrics == {"default": 0.9, "loss": 0.1}
    # The node: one for every trial (`node()`), or each trial's own, sent before its reports.
    starts = {e.trial_id: i for i, e in enumerate(events) if isinstance(e, TrialStarted)}
    if backend.node() is None:
        assert set(starts) == {1, 2}
        assert all(starts[e.trial_id] <= i for i, e in enumerate(events) if e.trial_id in starts)
    else:
        assert starts == {}


def test_exception_fails_the_trial_with_its_traceback(backend: Backend) -> None:
    (result,) = results(run_all(backend, [job(3, Raise())])).values()
    assert result.status is TrialStatus.FAILED and result.metric is None
    assert result.error == "ValueError: evaluator exploded on purpose"
    assert result.traceback is not None and "raise ValueError" in result.traceback


def test_nan_metric_fails_the_trial(backend: Backend) -> None:
    (result,) = results(run_all(backend, [job(4, NaN())])).values()
    assert result.status is TrialStatus.FAILED
    assert result.error is not None and "nan" in result.error


def test_free_slots_are_respected(backend: Backend) -> None:
    slots = backend.free_slots()
    assert slots >= 1
    jobs = [job(10 + i, Sleep(0.3)) for i in range(slots)]
    for item in jobs:
        backend.submit(item)
    assert backend.free_slots() == 0
    assert backend.running() == slots
    with pytest.raises(RuntimeError, match="slot"):
        backend.submit(job(99, Sleep(0.3)))
    done: dict[int, TrialResult] = {}
    while len(done) < slots:
        done.update(results(backend.poll(1.0)))
    assert sorted(done) == [10 + i for i in range(slots)]
    assert backend.free_slots() == slots


def test_trial_past_max_duration_times_out(backend: Backend) -> None:
    # Inline enforces the limit from the main thread (pytest runs tests there).
    if isinstance(backend, ThreadBackend):
        pytest.skip(
            "a thread cannot be interrupted: ThreadBackend stops cooperative evaluators through "
            "reporter.should_stop() (tests/classic/test_classic_script.py covers the timeout)"
        )
    (result,) = results(run_all(backend, [job(5, Sleep(60), max_duration=0.5)])).values()
    assert result.status is TrialStatus.TIMEOUT
    assert result.error is not None and "max_duration (0.5 s)" in result.error
    (after,) = results(run_all(backend, [job(6, Forward())])).values()
    assert after.status is TrialStatus.SUCCEEDED


def test_log_file_holds_the_trials_output(backend: Backend, tmp_path: Path) -> None:
    if isinstance(backend, ThreadBackend):
        pytest.skip(
            "threads share stdout: ThreadBackend hands the log path to the evaluator "
            "(reporter.log_path), which ScriptEvaluator writes its process' output to"
        )
    log = tmp_path / "logs" / "trial_7.log"
    (result,) = results(run_all(backend, [job(7, Say("trial seven"), log_path=str(log))])).values()
    assert result.status is TrialStatus.SUCCEEDED
    text = log.read_text()
    assert "trial seven stdout\n" in text and "trial seven stderr\n" in text


def test_bad_max_duration_is_refused(backend: Backend) -> None:
    with pytest.raises(ValueError, match="max_duration must be a positive number"):
        backend.submit(job(8, Forward(), max_duration=0))
    assert backend.running() == 0
