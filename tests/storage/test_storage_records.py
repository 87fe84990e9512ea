"""SQLiteStorage keeps every field of experiments, trials and metrics, with clear errors."""

from __future__ import annotations

import math
import pickle
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from archsearch.space import Trial, TrialStatus
from archsearch.storage import (
    ExperimentNotFoundError,
    ExperimentRecord,
    ExperimentStatus,
    MetricPoint,
    SQLiteStorage,
)

NASTY = "<script>alert('x')</script> ünïcødé 模型 \"quoted\" \\ \n"


def same(a: Any, b: Any) -> bool:
    """Equality that treats NaN as equal to NaN, through nested dicts and lists."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def test_experiment_round_trip_keeps_every_field(store: SQLiteStorage) -> None:
    record = ExperimentRecord(
        id="e-1",
        name=NASTY,
        kind="oneshot",
        status=ExperimentStatus.RUNNING,
        config={"max_trial_number": 10, "lr": math.nan, "limits": [math.inf, -math.inf, 1.5]},
        search_space={"conv": {"_type": "layer_choice", "_value": ["a", NASTY]}},
        spec={"model_space": "pkg.mod:Net", "nested": {"x": [1, 2, {"y": None}]}},
        created_at=123.25,
        started_at=124.5,
        ended_at=None,
        pid=4242,
        error=NASTY,
    )
    store.create_experiment(record)
    back = store.experiment("e-1")
    for name in ("id", "name", "kind", "status", "created_at", "started_at", "pid", "error"):
        assert getattr(back, name) == getattr(record, name), name
    assert back.ended_at is None
    for name in ("config", "search_space", "spec"):
        assert same(dict(getattr(back, name)), dict(getattr(record, name))), name
    assert back.config["lr"] != back.config["lr"]  # NaN survived as a float
    assert back.config["limits"][:2] == [math.inf, -math.inf]


def test_created_at_defaults_to_now_and_experiments_list_newest_first(
    store: SQLiteStorage,
) -> None:
    before = time.time()
    store.create_experiment(ExperimentRecord(id="a", name="a"))
    store.create_experiment(ExperimentRecord(id="b", name="b", created_at=1.0))
    store.create_experiment(ExperimentRecord(id="c", name="c", created_at=1e12))
    store.create_experiment(ExperimentRecord(id="d", name="d", created_at=1e12))  # same instant
    created = store.experiment("a").created_at
    assert created is not None and before <= created <= time.time()
    assert [e.id for e in store.experiments()] == ["d", "c", "a", "b"]


def test_duplicate_experiment_id_is_refused(store: SQLiteStorage, exp: str) -> None:
    with pytest.raises(ValueError, match="exp1"):
        store.create_experiment(ExperimentRecord(id=exp, name="again"))
    assert store.experiment(exp).name == "first"


def test_update_experiment_changes_fields_and_rejects_unknown_ones(
    store: SQLiteStorage, exp: str
) -> None:
    updated = store.update_experiment(
        exp, status="running", started_at=5.0, pid=77, config={"a": math.inf}, error=None
    )
    assert updated.status is ExperimentStatus.RUNNING
    assert (updated.started_at, updated.pid, updated.config) == (5.0, 77, {"a": math.inf})
    assert store.experiment(exp) == updated
    assert store.update_experiment(exp) == updated
    with pytest.raises(ValueError, match=r"created_at.*updatable: .*status"):
        store.update_experiment(exp, created_at=1.0)
    with pytest.raises(ValueError):
        store.update_experiment(exp, status="sleeping")


def test_trial_round_trip_with_non_finite_metrics_and_unicode(
    store: SQLiteStorage, exp: str
) -> None:
    arch = {"conv": NASTY, NASTY: [0, 2], "hidden": 64, "flag": True, "rate": 0.25}
    added = store.add_trial(exp, arch)
    assert (added.id, added.status, added.arch, added.metrics) == (1, TrialStatus.WAITING, arch, {})
    assert added.created_at is not None and added.started_at is None
    started = store.start_trial(exp, 1, log_path=f"/logs/{NASTY}.log")
    assert started.status is TrialStatus.RUNNING and started.log_path == f"/logs/{NASTY}.log"
    assert started.started_at is not None and started.started_at >= added.created_at
    metrics = {"default": math.nan, "loss": math.inf, "curve": [1.0, -math.inf], "note": NASTY}
    done = store.finish_trial(
        exp,
        1,
        TrialStatus.FAILED,
        metric=math.nan,
        metrics=metrics,
        error=NASTY,
        traceback=NASTY * 3,
        ended_at=started.started_at + 2.5,
    )
    back = store.trial(exp, 1)
    assert replace(back, metric=None, metrics={}) == replace(done, metric=None, metrics={})
    assert back.status is TrialStatus.FAILED
    assert back.metric is not None and math.isnan(back.metric)
    assert same(dict(back.metrics), metrics)
    assert (back.error, back.traceback) == (NASTY, NASTY * 3)
    assert back.duration == pytest.approx(2.5)
    assert back.arch == arch and type(back.arch["flag"]) is bool
    for value in (math.inf, -math.inf, 0.875):
        trial = store.add_trial(exp, {"x": 1})
        store.finish_trial(exp, trial.id, TrialStatus.SUCCEEDED, metric=value)
        assert store.trial(exp, trial.id).metric == value


def test_metric_points_round_trip_by_step(store: SQLiteStorage, exp: str) -> None:
    store.add_trial(exp, {"a": 1})
    store.add_trial(exp, {"a": 2})
    points = [
        MetricPoint(1, 2, {"default": 0.5, "acc": math.nan}, 10.0),
        MetricPoint(1, 0, {"default": -math.inf}, 8.0),
        MetricPoint(2, 0, {"default": 1.0, "label": NASTY}, 9.0),
        MetricPoint(1, 1, {"default": 0.25}, 9.5),
    ]
    store.report_metrics(exp, points)
    store.report_metrics(exp, [])
    got = store.metrics(exp, 1)
    assert [p.step for p in got] == [0, 1, 2]
    assert got[0] == MetricPoint(1, 0, {"default": -math.inf}, 8.0)
    assert same(dict(got[2].metrics), {"default": 0.5, "acc": math.nan})
    assert store.metrics(exp, 2) == [MetricPoint(2, 0, {"default": 1.0, "label": NASTY}, 9.0)]
    many = store.metrics_for(exp, [2, 1, 99])
    assert list(many) == [2, 1, 99] and many[99] == [] and len(many[1]) == 3


def test_metrics_for_unknown_trial_are_refused_atomically(store: SQLiteStorage, exp: str) -> None:
    store.add_trial(exp, {"a": 1})
    with pytest.raises(KeyError, match=r"trial 7.*exp1"):
        store.report_metrics(exp, [MetricPoint(1, 0, {"d": 1.0}, 1.0), MetricPoint(7, 0, {}, 1.0)])
    assert store.metrics(exp, 1) == []  # the batch is one transaction
    with pytest.raises(TypeError, match="metrics of trial 1"):
        store.report_metrics(exp, [MetricPoint(1, 0, {"d": object()}, 1.0)])


def test_trial_ids_count_per_experiment(store: SQLiteStorage) -> None:
    for name in ("x", "y"):
        store.create_experiment(ExperimentRecord(id=name, name=name))
    ids = [(e, store.add_trial(e, {"i": i}).id) for i in range(3) for e in ("x", "y")]
    assert ids == [("x", 1), ("y", 1), ("x", 2), ("y", 2), ("x", 3), ("y", 3)]
    assert [t.arch["i"] for t in store.trials("y")] == [0, 1, 2]
    assert [t.id for t in store.trials("x")] == [1, 2, 3]


def test_requeue_puts_an_unfinished_trial_back_and_drops_its_metrics(
    store: SQLiteStorage, exp: str
) -> None:
    store.add_trial(exp, {"a": 1})
    store.add_trial(exp, {"a": 2})
    store.start_trial(exp, 1, log_path="/tmp/1.log")
    store.start_trial(exp, 2)
    store.report_metrics(exp, [MetricPoint(t, s, {"d": 1.0}, 1.0) for t in (1, 2) for s in (0, 1)])
    requeued = store.requeue_trial(exp, 1)
    assert requeued.status is TrialStatus.WAITING
    assert (requeued.started_at, requeued.ended_at, requeued.log_path) == (None, None, None)
    assert requeued.arch == {"a": 1}
    assert store.metrics(exp, 1) == []
    assert len(store.metrics(exp, 2)) == 2  # another trial's metrics stay
    assert store.requeue_trial(exp, 1).status is TrialStatus.WAITING  # waiting: harmless
    store.start_trial(exp, 1)
    store.report_metrics(exp, [MetricPoint(1, 0, {"d": 2.0}, 2.0)])
    assert [p.metrics for p in store.metrics(exp, 1)] == [{"d": 2.0}]
    store.finish_trial(exp, 1, TrialStatus.SUCCEEDED, metric=1.0)
    with pytest.raises(ValueError, match="succeeded"):
        store.requeue_trial(exp, 1)
    assert [p.metrics for p in store.metrics(exp, 1)] == [{"d": 2.0}]  # a refusal loses nothing


def test_a_cancelled_trial_can_run_again(store: SQLiteStorage, exp: str) -> None:
    store.add_trial(exp, {"a": 1})
    store.start_trial(exp, 1, log_path="/tmp/1.log")
    store.finish_trial(exp, 1, TrialStatus.CANCELLED, error="the experiment was stopped")
    requeued = store.requeue_trial(exp, 1)
    assert requeued.status is TrialStatus.WAITING
    assert (requeued.error, requeued.ended_at, requeued.log_path) == (None, None, None)


def test_trial_life_is_checked(store: SQLiteStorage, exp: str) -> None:
    store.add_trial(exp, {"a": 1})
    with pytest.raises(ValueError, match="not a final status"):
        store.finish_trial(exp, 1, TrialStatus.RUNNING)
    with pytest.raises(ValueError, match="unknown trial status"):
        store.finish_trial(exp, 1, "exploded")  # type: ignore[arg-type]
    cancelled = store.finish_trial(exp, 1, TrialStatus.CANCELLED, error="never started")
    assert cancelled.started_at is None and cancelled.ended_at is not None
    with pytest.raises(ValueError, match=r"trial 1 .* cancelled; only a waiting trial"):
        store.start_trial(exp, 1)
    with pytest.raises(ValueError, match="cancelled"):
        store.finish_trial(exp, 1, TrialStatus.SUCCEEDED, metric=1.0)
    assert store.trial(exp, 1) == cancelled


def test_stop_request_is_cleared_when_the_experiment_runs_again(
    store: SQLiteStorage, exp: str
) -> None:
    assert store.stop_requested(exp) is False
    store.update_experiment(exp, status=ExperimentStatus.RUNNING, pid=1)
    store.request_stop(exp)
    assert store.stop_requested(exp) is True
    store.update_experiment(exp, status=ExperimentStatus.RUNNING, pid=2)  # still running
    assert store.stop_requested(exp) is True
    store.update_experiment(exp, status=ExperimentStatus.STOPPED)
    assert store.stop_requested(exp) is True
    store.update_experiment(exp, status="running")  # resumed
    assert store.stop_requested(exp) is False


def test_unknown_ids_raise_errors_that_say_what_to_do(store: SQLiteStorage, exp: str) -> None:
    calls: list[Callable[[], object]] = [
        lambda: store.experiment("nope"),
        lambda: store.update_experiment("nope", pid=1),
        lambda: store.request_stop("nope"),
        lambda: store.stop_requested("nope"),
        lambda: store.add_trial("nope", {}),
        lambda: store.trials("nope"),
        lambda: store.trial("nope", 1),
        lambda: store.metrics("nope", 1),
        lambda: store.metrics_for("nope", [1]),
        lambda: store.report_metrics("nope", [MetricPoint(1, 0, {}, 0.0)]),
        lambda: store.trial_page("nope"),
        lambda: store.status_counts("nope"),
    ]
    for call in calls:
        with pytest.raises(ExperimentNotFoundError) as info:
            call()
        assert "'nope'" in str(info.value) and "archsearch list" in str(info.value)
    assert store.trials(exp) == []
    for call in (
        lambda: store.trial(exp, 3),
        lambda: store.start_trial(exp, 3),
        lambda: store.metrics(exp, 3),
        lambda: store.requeue_trial(exp, 3),
    ):
        with pytest.raises(KeyError, match=r"no trial 3 in experiment 'exp1'"):
            call()


def test_records_are_fresh_and_survive_reopening(store: SQLiteStorage, exp: str) -> None:
    trial = store.add_trial(exp, {"skip": [0, 1]})
    trial.arch["skip"].append(2)  # a caller's change never reaches storage
    assert store.trial(exp, 1).arch == {"skip": [0, 1]}
    assert isinstance(trial, Trial)
    store.close()
    assert store.trial(exp, 1).arch == {"skip": [0, 1]}  # reopens on use
    with SQLiteStorage(store.path) as again:
        assert again.experiment(exp).name == "first"
        assert [t.id for t in again.trials(exp)] == [1]


def test_a_pickled_store_reopens_the_same_file(store: SQLiteStorage, exp: str) -> None:
    store.add_trial(exp, {"a": 1})
    copy = pickle.loads(pickle.dumps(store))
    assert isinstance(copy, SQLiteStorage) and copy.path == store.path
    assert copy.trial(exp, 1).arch == {"a": 1}
    copy.close()


def test_an_architecture_must_be_a_mapping(store: SQLiteStorage, exp: str) -> None:
    with pytest.raises(TypeError, match="got list"):
        store.add_trial(exp, ["conv3"])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="architecture cannot be stored as JSON"):
        store.add_trial(exp, {"op": object()})
    assert store.trials(exp) == []
