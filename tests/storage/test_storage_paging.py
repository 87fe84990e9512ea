"""trial_page, status_counts and metrics_for in SQL agree with plain Python over all trials."""

from __future__ import annotations

import json
import math
import random
from collections import Counter
from itertools import pairwise
from typing import Any

import pytest

from archsearch.space import Trial, TrialStatus, same_value
from archsearch.storage import SORT_KEYS, MetricPoint, SQLiteStorage, Storage
from archsearch.storage.paging import page_of

LABELS = ("conv", "hidden", "skip", "flag", "a.b", "<script>")
FINAL = [s for s in TrialStatus if s.finished]


def random_arch(rng: random.Random) -> dict[str, Any]:
    arch: dict[str, Any] = {
        "conv": rng.choice(["conv3", "conv5", "ünï", "<b>"]),
        "hidden": rng.choice([16, 32, 64, 32.0, 0.5]),
        "skip": rng.choice([[0], [1], [0, 1], []]),
        "flag": rng.choice([True, False]),
        "a.b": rng.randint(0, 3),
    }
    if rng.random() < 0.5:  # a label some trials lack: it sorts like a missing value
        arch["<script>"] = rng.choice(["x", "y", "é"])
    return arch


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> tuple[SQLiteStorage, list[Trial]]:
    """300 trials in every status, with tied and non-finite metrics and tied durations."""
    from archsearch.storage import ExperimentRecord

    store = SQLiteStorage(tmp_path_factory.mktemp("paging") / "e.db")
    store.create_experiment(ExperimentRecord(id="e", name="e"))
    store.create_experiment(ExperimentRecord(id="other", name="other"))
    rng = random.Random(7)
    for i in range(300):
        trial = store.add_trial("e", random_arch(rng))
        store.add_trial("other", {"conv": "conv3"})  # another experiment's rows never leak in
        life = rng.random()
        if life < 0.1:
            continue  # waiting
        started = store.start_trial("e", trial.id)
        if life < 0.2:
            continue  # running
        metric = rng.choice([0.1, 0.5, 0.9, 0.5, None, math.nan, math.inf, rng.random()])
        status = rng.choice(FINAL)
        assert started.started_at is not None
        ended = started.started_at + rng.choice([0.5, 1.0, 2.0, 1.0 + i])
        store.finish_trial("e", trial.id, status, metric=metric, ended_at=ended)
        if i % 10 == 0:
            store.report_metrics(
                "e", [MetricPoint(trial.id, s, {"d": s / 10}, 1.0) for s in (1, 0)]
            )
    return store, store.trials("e")


STATUS_FILTERS: list[Any] = [None, "succeeded", ["waiting", "running"], TrialStatus.FAILED, []]
PAGES = [(0, 50), (37, 20), (0, 1000), (290, 50), (500, 10), (0, 0)]


@pytest.mark.parametrize("sort", [*SORT_KEYS, *(f"arch.{label}" for label in LABELS)])
@pytest.mark.parametrize("descending", [False, True])
def test_pages_match_python(
    filled: tuple[SQLiteStorage, list[Trial]], sort: str, descending: bool
) -> None:
    store, trials = filled
    for status in STATUS_FILTERS:
        for offset, limit in PAGES:
            args: dict[str, Any] = dict(
                offset=offset, limit=limit, sort=sort, descending=descending, status=status
            )
            rows, total = store.trial_page("e", **args)
            expected_rows, expected_total = page_of(trials, **args)
            assert total == expected_total, args
            assert [t.id for t in rows] == [t.id for t in expected_rows], args
        everything, _ = store.trial_page("e", sort=sort, descending=descending, limit=10_000)
        check_order(everything, sort, descending)


def own_key(trial: Trial, sort: str) -> Any:
    """The test's own reading of each sort key, for the data `random_arch` makes."""
    if sort.startswith("arch."):
        value = trial.arch.get(sort[5:])
        if value is None:
            return None
        if isinstance(value, (bool, int, float)):
            return (0, float(value))
        return (1, value if isinstance(value, str) else json.dumps(value).replace(" ", ""))
    if sort == "metric":
        return trial.metric if trial.metric is not None and math.isfinite(trial.metric) else None
    if sort == "status":
        return list(TrialStatus).index(trial.status)
    return trial.duration if sort == "duration" else getattr(trial, sort)


def check_order(rows: list[Trial], sort: str, descending: bool) -> None:
    """Present values first, in order; missing ones last; ties by ascending id."""
    keyed = [(own_key(t, sort), t.id) for t in rows]
    for (a, id_a), (b, id_b) in pairwise(keyed):
        if a is None:
            assert b is None and id_a < id_b, "missing values come last, by id"
        elif b is not None and a == b:
            assert id_a < id_b, "ties go by ascending id"
        elif b is not None:
            assert (a > b) if descending else (a < b)


FILTERS: list[dict[str, Any]] = [
    {"hidden": 32},  # matches 32 and 32.0
    {"hidden": 0.5, "flag": True},
    {"skip": [0, 1]},
    {"skip": []},
    {"flag": False},
    {"flag": 0},  # a number never equals a boolean
    {"conv": "<b>", "a.b": 2},
    {"<script>": "é"},
    {"conv": "nothing"},
    {"missing": 1},
    {},
]


@pytest.mark.parametrize("arch_filter", FILTERS, ids=[json.dumps(f) for f in FILTERS])
def test_arch_filters_match_python(
    filled: tuple[SQLiteStorage, list[Trial]], arch_filter: dict[str, Any]
) -> None:
    store, trials = filled
    matching = [
        t
        for t in trials
        if all(k in t.arch and same_value(t.arch[k], v) for k, v in arch_filter.items())
    ]
    for sort, status in (
        ("id", None),
        ("metric", "succeeded"),
        ("arch.conv", ["failed", "timeout"]),
    ):
        rows, total = store.trial_page(
            "e", sort=sort, descending=True, status=status, arch_filter=arch_filter, limit=1000
        )
        wanted = [t for t in matching if status is None or t.status.value in status]
        assert total == len(wanted)
        assert sorted(t.id for t in rows) == sorted(t.id for t in wanted)
        expected, _ = page_of(
            trials, sort=sort, descending=True, status=status, arch_filter=arch_filter, limit=1000
        )
        assert [t.id for t in rows] == [t.id for t in expected]
    if json.dumps(arch_filter) == '{"hidden": 32}':
        assert {type(t.arch["hidden"]) for t in matching} == {int, float}
    if json.dumps(arch_filter) == '{"flag": 0}':
        assert matching == []


def test_rows_are_whole_trials(filled: tuple[SQLiteStorage, list[Trial]]) -> None:
    store, trials = filled
    by_id = {t.id: t for t in trials}
    rows, _ = store.trial_page("e", sort="started_at", limit=300)
    for row in rows:
        want = by_id[row.id]
        assert (row.arch, row.status, row.started_at, row.ended_at) == (
            want.arch,
            want.status,
            want.started_at,
            want.ended_at,
        )
        assert row.metric == want.metric or (
            math.isnan(row.metric or 0.0) and want.metric != want.metric
        )


def test_status_counts_and_metrics_for(filled: tuple[SQLiteStorage, list[Trial]]) -> None:
    store, trials = filled
    counts = store.status_counts("e")
    assert counts == {s.value: Counter(t.status for t in trials)[s] for s in TrialStatus}
    assert counts == Storage.status_counts(store, "e")  # the plain-Python default agrees
    ids = [t.id for t in trials[:60]] + [10_000]
    many = store.metrics_for("e", ids)
    assert all(many[t.id] == Storage.metrics(store, "e", t.id) for t in trials[:60])
    assert many[10_000] == [] and sum(len(v) for v in many.values()) > 0


def test_bad_page_arguments_are_explained(filled: tuple[SQLiteStorage, list[Trial]]) -> None:
    store, _ = filled
    with pytest.raises(ValueError, match=r"unknown sort key 'speed'; valid: id, metric, .*arch"):
        store.trial_page("e", sort="speed")
    with pytest.raises(ValueError, match="unknown sort key"):
        store.trial_page("e", sort="arch.")
    with pytest.raises(ValueError, match="contains"):
        store.trial_page("e", sort='arch.a"b')
    with pytest.raises(ValueError, match="unknown trial status 'done'; valid: waiting"):
        store.trial_page("e", status="done")
    with pytest.raises(ValueError, match="offset and limit"):
        store.trial_page("e", offset=-1)
