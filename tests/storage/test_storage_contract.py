"""The storage contract: what every `Storage` implementation must do.

Each test runs over every store in `STORES`; a new store (a server database, say) is one row
there. SQLite is the store archsearch ships; `MemoryStorage` implements only the abstract
methods, so it checks the defaults of the base class too. SQLite-only behaviour (files,
pickling, schema versions, concurrent processes) is tested in the other files of this folder.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from memory_store import MemoryStorage

from archsearch.space import MetricReport, Trial, TrialStatus
from archsearch.storage import (
    ExperimentNotFoundError,
    ExperimentRecord,
    ExperimentStatus,
    SQLiteStorage,
    Storage,
)

STORES: dict[str, Callable[[Path], Storage]] = {
    "sqlite": lambda folder: SQLiteStorage(folder / "store" / "experiments.db"),
    "memory": lambda folder: MemoryStorage(),
}
"""Every store the contract runs over: name → a factory given an empty folder."""

NASTY = "<script>alert('x')</script> ünïcødé 模型 \"quoted\" \\ \n"
"""Text that user code produces: markup, Unicode, quotes, backslashes, newlines."""


@pytest.fixture(params=sorted(STORES))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    storage = STORES[request.param](tmp_path)
    yield storage
    storage.close()
    storage.close()  # closing twice is harmless


@pytest.fixture
def exp(store: Storage) -> str:
    store.create_experiment(ExperimentRecord(id="exp1", name="first"))
    return "exp1"


def same(a: Any, b: Any) -> bool:
    """Equality that treats NaN as equal to NaN, through nested dicts and lists."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


# -- experiments ------------------------------------------------------------------------------
def test_an_experiment_keeps_every_field(store: Storage) -> None:
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
    assert store.experiments() == [back]


def test_experiments_list_newest_first(store: Storage) -> None:
    before = time.time()
    store.create_experiment(ExperimentRecord(id="a", name="a"))
    store.create_experiment(ExperimentRecord(id="b", name="b", created_at=1.0))
    store.create_experiment(ExperimentRecord(id="c", name="c", created_at=1e12))
    store.create_experiment(ExperimentRecord(id="d", name="d", created_at=1e12))  # same instant
    created = store.experiment("a").created_at
    assert created is not None and before <= created <= time.time()  # defaults to now
    assert [e.id for e in store.experiments()] == ["d", "c", "a", "b"]


def test_an_experiment_id_is_used_once(store: Storage, exp: str) -> None:
    with pytest.raises(ValueError, match="exp1"):
        store.create_experiment(ExperimentRecord(id=exp, name="again"))
    assert store.experiment(exp).name == "first"


def test_update_experiment_changes_fields_and_refuses_others(store: Storage, exp: str) -> None:
    updated = store.update_experiment(
        exp, status="running", started_at=5.0, pid=77, config={"a": math.inf}, error=NASTY
    )
    assert updated.status is ExperimentStatus.RUNNING
    assert (updated.started_at, updated.pid, updated.config, updated.error) == (
        5.0,
        77,
        {"a": math.inf},
        NASTY,
    )
    assert store.experiment(exp) == updated
    assert store.update_experiment(exp) == updated
    with pytest.raises(ValueError, match="created_at"):
        store.update_experiment(exp, created_at=1.0)
    with pytest.raises(ValueError):
        store.update_experiment(exp, status="sleeping")
    assert store.experiment(exp) == updated


def test_a_stop_request_lasts_until_the_experiment_runs_again(store: Storage, exp: str) -> None:
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


# -- trials -----------------------------------------------------------------------------------
def test_a_trial_keeps_every_field_through_its_life(store: Storage, exp: str) -> None:
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
    assert back.status is TrialStatus.FAILED and back.log_path == started.log_path
    assert back.metric is not None and math.isnan(back.metric)
    assert same(dict(back.metrics), metrics)
    assert (back.error, back.traceback) == (NASTY, NASTY * 3)
    assert back.duration == pytest.approx(2.5)
    assert back.arch == arch and type(back.arch["flag"]) is bool
    for value in (math.inf, -math.inf, 0.875):
        trial = store.add_trial(exp, {"x": 1})
        store.finish_trial(exp, trial.id, TrialStatus.SUCCEEDED, metric=value)
        assert store.trial(exp, trial.id).metric == value


def test_a_trial_keeps_its_node_while_it_runs_and_after(store: Storage, exp: str) -> None:
    for arch in ({"a": 1}, {"a": 2}):
        assert store.add_trial(exp, arch).node is None
    with pytest.raises(ValueError, match="waiting"):
        store.place_trial(exp, 1, "node-a")  # only a running trial is placed
    assert store.start_trial(exp, 1, node="driver").node == "driver"  # the backend's machine
    assert store.start_trial(exp, 2).node is None  # a backend that names it once started
    assert store.place_trial(exp, 2, NASTY).node == NASTY
    done = store.finish_trial(exp, 2, TrialStatus.SUCCEEDED, metric=1.0)
    assert done.node == store.trial(exp, 2).node == NASTY
    assert [t.node for t in store.trial_page(exp, sort="id")[0]] == ["driver", NASTY]
    with pytest.raises(ValueError, match="succeeded"):
        store.place_trial(exp, 2, "elsewhere")
    assert store.requeue_trial(exp, 1).node is None  # a re-run may go anywhere


BAD_TEXT = "file " + os.fsdecode(b"\xff") + " \ud800 ünï"
"""Text that is not valid UTF-8: lone surrogates, as `os.fsdecode` gives for a raw byte."""
STORED_BAD_TEXT = "file \\udcff \\ud800 ünï"
"""What a store may keep instead: each lone surrogate as its Python escape (docs/multitrial.md)."""


def test_text_that_is_not_utf8_is_stored_escaped_or_as_it_is(store: Storage, exp: str) -> None:
    store.update_experiment(exp, name=BAD_TEXT, error=BAD_TEXT)
    assert store.experiment(exp).name in (BAD_TEXT, STORED_BAD_TEXT)
    store.add_trial(exp, {"path": BAD_TEXT, BAD_TEXT: 1})
    store.start_trial(exp, 1, log_path=BAD_TEXT)
    store.report_metrics(exp, [MetricReport(1, 0, {"default": 1.0, BAD_TEXT: [BAD_TEXT]}, 1.0)])
    metrics = {"default": math.nan, "note": BAD_TEXT}
    store.finish_trial(exp, 1, TrialStatus.FAILED, 0.5, metrics, BAD_TEXT, BAD_TEXT * 2)
    back = store.trial(exp, 1)
    escaped = back.error == STORED_BAD_TEXT
    want = STORED_BAD_TEXT if escaped else BAD_TEXT
    assert (back.error, back.traceback, back.log_path) == (want, want * 2, want)
    assert back.arch == {"path": want, want: 1}
    assert back.metrics["note"] == want and math.isnan(back.metrics["default"])
    assert store.metrics(exp, 1)[0].metrics == {"default": 1.0, want: [want]}
    (page,), _ = store.trial_page(exp, arch_filter={"path": want})
    assert page.id == 1


def test_trial_ids_count_per_experiment(store: Storage) -> None:
    for name in ("x", "y"):
        store.create_experiment(ExperimentRecord(id=name, name=name))
    ids = [(e, store.add_trial(e, {"i": i}).id) for i in range(3) for e in ("x", "y")]
    assert ids == [("x", 1), ("y", 1), ("x", 2), ("y", 2), ("x", 3), ("y", 3)]
    assert [t.arch["i"] for t in store.trials("y")] == [0, 1, 2]
    assert [t.id for t in store.trials("x")] == [1, 2, 3]


def test_a_trial_moves_forward_only(store: Storage, exp: str) -> None:
    store.add_trial(exp, {"a": 1})
    with pytest.raises(ValueError):
        store.finish_trial(exp, 1, TrialStatus.RUNNING)  # not a final status
    with pytest.raises(ValueError):
        store.finish_trial(exp, 1, "exploded")  # type: ignore[arg-type]
    cancelled = store.finish_trial(exp, 1, TrialStatus.CANCELLED, error="never started")
    assert cancelled.started_at is None and cancelled.ended_at is not None
    with pytest.raises(ValueError, match="cancelled"):
        store.start_trial(exp, 1)
    with pytest.raises(ValueError, match="cancelled"):
        store.finish_trial(exp, 1, TrialStatus.SUCCEEDED, metric=1.0)
    assert store.trial(exp, 1) == cancelled


def test_requeue_puts_an_unfinished_trial_back_and_drops_its_metrics(
    store: Storage, exp: str
) -> None:
    store.add_trial(exp, {"a": 1})
    store.add_trial(exp, {"a": 2})
    store.start_trial(exp, 1, log_path="/tmp/1.log")
    store.start_trial(exp, 2)
    store.report_metrics(exp, [MetricReport(t, s, {"d": 1.0}, 1.0) for t in (1, 2) for s in (0, 1)])
    requeued = store.requeue_trial(exp, 1)
    assert requeued.status is TrialStatus.WAITING and requeued.arch == {"a": 1}
    assert (requeued.started_at, requeued.ended_at, requeued.log_path) == (None, None, None)
    assert store.metrics(exp, 1) == []
    assert len(store.metrics(exp, 2)) == 2  # another trial's metrics stay
    assert store.requeue_trial(exp, 1).status is TrialStatus.WAITING  # waiting: harmless
    store.start_trial(exp, 1)
    store.report_metrics(exp, [MetricReport(1, 0, {"d": 2.0}, 2.0)])
    store.finish_trial(exp, 1, TrialStatus.SUCCEEDED, metric=1.0)
    with pytest.raises(ValueError, match="succeeded"):
        store.requeue_trial(exp, 1)
    assert [p.metrics for p in store.metrics(exp, 1)] == [{"d": 2.0}]  # a refusal loses nothing
    store.finish_trial(exp, 2, TrialStatus.CANCELLED, error="the experiment was stopped")
    again = store.requeue_trial(exp, 2)  # a cancelled trial runs again on resume
    assert (again.status, again.error, again.ended_at) == (TrialStatus.WAITING, None, None)


# -- metrics ----------------------------------------------------------------------------------
def test_metrics_come_back_by_step(store: Storage, exp: str) -> None:
    store.add_trial(exp, {"a": 1})
    store.add_trial(exp, {"a": 2})
    store.report_metrics(
        exp,
        [
            MetricReport(1, 2, {"default": 0.5, "acc": math.nan}, 10.0),
            MetricReport(1, 0, {"default": -math.inf}, 8.0),
            MetricReport(2, 0, {"default": 1.0, "label": NASTY}, 9.0),
            MetricReport(1, 1, {"default": 0.25}, 9.5),
        ],
    )
    store.report_metrics(exp, [])
    got = store.metrics(exp, 1)
    assert [p.step for p in got] == [0, 1, 2]
    assert got[0] == MetricReport(1, 0, {"default": -math.inf}, 8.0)
    assert same(dict(got[2].metrics), {"default": 0.5, "acc": math.nan})
    assert store.metrics(exp, 2) == [MetricReport(2, 0, {"default": 1.0, "label": NASTY}, 9.0)]
    many = store.metrics_for(exp, [2, 1, 99])
    assert list(many) == [2, 1, 99] and many[99] == [] and len(many[1]) == 3


def test_a_batch_of_metrics_is_kept_whole_or_not_at_all(store: Storage, exp: str) -> None:
    store.add_trial(exp, {"a": 1})
    with pytest.raises(KeyError, match="7"):
        store.report_metrics(
            exp, [MetricReport(1, 0, {"d": 1.0}, 1.0), MetricReport(7, 0, {}, 1.0)]
        )
    with pytest.raises(TypeError):
        store.report_metrics(
            exp, [MetricReport(1, 0, {"d": 1.0}, 1.0), MetricReport(1, 1, {"d": object()}, 1.0)]
        )
    assert store.metrics(exp, 1) == []


# -- records and errors -----------------------------------------------------------------------
def test_records_are_fresh_copies_and_arch_is_read_only(store: Storage, exp: str) -> None:
    arch: dict[str, Any] = {"skip": [0, 1]}
    trial = store.add_trial(exp, arch)
    arch["skip"].append(5)  # the caller's dict never reaches storage
    trial.arch["skip"].append(2)  # nor does a change inside a returned record
    with pytest.raises(TypeError, match="read-only"):
        trial.arch["skip"] = [3]  # type: ignore[index]
    assert isinstance(trial, Trial) and store.trial(exp, 1).arch == {"skip": [0, 1]}


def test_only_json_architectures_are_stored(store: Storage, exp: str) -> None:
    with pytest.raises(TypeError):
        store.add_trial(exp, ["conv3"])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        store.add_trial(exp, {"op": object()})
    assert store.trials(exp) == []


def unknown_experiment_calls(store: Storage) -> list[Callable[[], object]]:
    """A call of every method that takes an experiment id, each with the unknown id 'nope'."""
    return [
        lambda: store.experiment("nope"),
        lambda: store.update_experiment("nope", pid=1),
        lambda: store.request_stop("nope"),
        lambda: store.stop_requested("nope"),
        lambda: store.add_trial("nope", {}),
        lambda: store.trials("nope"),
        lambda: store.trial("nope", 1),
        lambda: store.place_trial("nope", 1, "n"),
        lambda: store.metrics("nope", 1),
        lambda: store.metrics_for("nope", [1]),
        lambda: store.report_metrics("nope", [MetricReport(1, 0, {}, 0.0)]),
        lambda: store.trial_page("nope"),
        lambda: store.status_counts("nope"),
    ]


def test_unknown_ids_raise_the_contract_errors(store: Storage, exp: str) -> None:
    for call in unknown_experiment_calls(store):
        with pytest.raises(ExperimentNotFoundError, match="'nope'"):
            call()
    assert store.trials(exp) == []
    for call in (
        lambda: store.trial(exp, 3),
        lambda: store.start_trial(exp, 3),
        lambda: store.place_trial(exp, 3, "n"),
        lambda: store.finish_trial(exp, 3, TrialStatus.FAILED),
        lambda: store.metrics(exp, 3),
        lambda: store.requeue_trial(exp, 3),
    ):
        with pytest.raises(KeyError, match="3"):
            call()


# -- the defaults a store may replace ---------------------------------------------------------
def test_replaced_defaults_agree_with_the_plain_ones(store: Storage, exp: str) -> None:
    for i in range(6):
        trial = store.add_trial(exp, {"op": "ab"[i % 2], "width": i})
        if i % 3:
            store.start_trial(exp, trial.id)
            store.report_metrics(exp, [MetricReport(trial.id, 0, {"default": i / 10}, 1.0)])
        if i % 3 == 2:
            store.finish_trial(exp, trial.id, TrialStatus.SUCCEEDED, metric=i / 10)
    assert store.experiment(exp) == Storage.experiment(store, exp)
    for i in (1, 2, 3):
        assert store.trial(exp, i) == Storage.trial(store, exp, i)
        assert store.metrics(exp, i) == Storage.metrics(store, exp, i)
    assert store.status_counts(exp) == Storage.status_counts(store, exp)
    assert store.status_counts(exp)["succeeded"] == 2
    for kwargs in (
        {},
        {"sort": "metric", "descending": True, "limit": 3},
        {"sort": "arch.width", "offset": 2},
        {"status": ("running", "succeeded"), "arch_filter": {"op": "b"}},
    ):
        assert store.trial_page(exp, **kwargs) == Storage.trial_page(store, exp, **kwargs)


def test_log_dir_is_none_or_a_folder_per_experiment(store: Storage, exp: str) -> None:
    store.create_experiment(ExperimentRecord(id="exp2", name="second"))
    first, second = store.log_dir(exp), store.log_dir("exp2")
    assert (first is None) == (second is None)
    if first is not None:
        assert isinstance(first, Path) and first != second
