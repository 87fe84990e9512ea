"""SQLiteStorage's own behaviour: its error messages, reopening and pickling.

What every store must do is in `test_storage_contract.py`, which runs over SQLite too.
"""

from __future__ import annotations

import pickle

import pytest
from test_storage_contract import unknown_experiment_calls

from archsearch.space import MetricReport, TrialStatus
from archsearch.storage import ExperimentNotFoundError, ExperimentRecord, SQLiteStorage


def test_errors_say_what_to_do(store: SQLiteStorage, exp: str) -> None:
    for call in unknown_experiment_calls(store):
        with pytest.raises(ExperimentNotFoundError) as info:
            call()
        assert "'nope'" in str(info.value) and "archsearch list" in str(info.value)
    for call in (
        lambda: store.trial(exp, 3),
        lambda: store.start_trial(exp, 3),
        lambda: store.metrics(exp, 3),
        lambda: store.requeue_trial(exp, 3),
    ):
        with pytest.raises(KeyError, match=r"no trial 3 in experiment 'exp1'"):
            call()
    with pytest.raises(ValueError, match=r"created_at.*updatable: .*status"):
        store.update_experiment(exp, created_at=1.0)
    store.add_trial(exp, {"a": 1})
    with pytest.raises(KeyError, match=r"trial 7.*exp1"):
        store.report_metrics(exp, [MetricReport(7, 0, {}, 1.0)])
    with pytest.raises(TypeError, match="metrics of trial 1"):
        store.report_metrics(exp, [MetricReport(1, 0, {"d": object()}, 1.0)])
    with pytest.raises(TypeError, match="got list"):
        store.add_trial(exp, ["conv3"])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="architecture cannot be stored as JSON"):
        store.add_trial(exp, {"op": object()})
    with pytest.raises(ValueError, match="not a final status"):
        store.finish_trial(exp, 1, TrialStatus.RUNNING)
    with pytest.raises(ValueError, match="unknown trial status"):
        store.finish_trial(exp, 1, "exploded")  # type: ignore[arg-type]
    store.finish_trial(exp, 1, TrialStatus.CANCELLED, error="never started")
    with pytest.raises(ValueError, match=r"trial 1 .* cancelled; only a waiting trial"):
        store.start_trial(exp, 1)


def test_records_survive_reopening(store: SQLiteStorage, exp: str) -> None:
    store.add_trial(exp, {"skip": [0, 1]})
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


def test_trial_logs_go_beside_the_database(store: SQLiteStorage, exp: str) -> None:
    assert store.log_dir(exp) == store.path.parent / "experiments" / exp / "trials"
    store.create_experiment(ExperimentRecord(id="other", name="other"))
    assert store.log_dir("other") != store.log_dir(exp)
