"""The JSON API over a real SQLite store, through a real uvicorn: every figure it returns is
checked against storage read directly; the API is read-only."""

from __future__ import annotations

import json
import math
import statistics
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from builders import EDGES, NODES, ONESHOT_EPOCHS, Store

from archsearch.space import SearchSpace, TrialStatus, best_trials


@pytest.fixture(scope="module")
def client(base_url: str) -> httpx.Client:
    with httpx.Client(base_url=base_url, timeout=10) as c:
        yield c


def get(client: httpx.Client, path: str, **params: Any) -> Any:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


def error(client: httpx.Client, path: str, code: int, **params: Any) -> str:
    response = client.get(path, params=params)
    assert response.status_code == code, response.text
    message: str = response.json()["error"]
    return message


# --- experiments ----------------------------------------------------------------------------


def test_experiments_list_matches_storage(client: httpx.Client, store: Store) -> None:
    data = get(client, "/api/experiments")
    assert data["storage"] == str(store.path)
    rows = {e["id"]: e for e in data["experiments"]}
    assert list(rows) == [r.id for r in store.storage.experiments()]
    for record in store.storage.experiments():
        row = rows[record.id]
        trials = store.storage.trials(record.id)
        mode = "minimize" if record.config.get("optimize_mode") == "minimize" else "maximize"
        best = best_trials(trials, mode)
        assert row["name"] == record.name and row["kind"] == record.kind
        assert row["status"] == record.status.value
        assert row["best"] == ({"trial": best[0].id, "metric": best[0].metric} if best else None)
        assert row["counts"] == dict(Counter(t.status.value for t in trials)) | {
            s.value: 0 for s in TrialStatus if s.value not in {t.status.value for t in trials}
        }
    finished = rows["finished1"]
    assert finished["progress"] == {
        "done": 40,
        "total": 50,
        "unit": "trials",
        "max_duration": 3600.0,
        "fraction": 1.0,  # done
    }
    running = rows["running1"]["progress"]
    assert running["done"] == 4 and running["total"] == 16  # 6 trials: 1 running, 1 waiting
    assert 0 < running["fraction"] < 1
    oneshot = rows[store.oneshot.experiment_id]
    assert oneshot["kind"] == "oneshot" and oneshot["status"] == "done"
    assert oneshot["progress"]["done"] == oneshot["progress"]["total"] == ONESHOT_EPOCHS


def test_overview_curve_counts_and_space(client: httpx.Client, store: Store) -> None:
    data = get(client, "/api/experiments/finished1")
    record = store.storage.experiment("finished1")
    assert data["config"] == record.config
    space = SearchSpace.from_json(record.search_space)
    assert data["search_space"]["size"] == space.size() == 5**6 * 3
    assert [c["label"] for c in data["search_space"]["choices"]] == list(space)
    assert data["search_space"]["choices"][0]["candidates"] == list(space[EDGES[0]].options())
    assert data["counts"] == store.storage.status_counts("finished1")
    done = [t for t in store.storage.trials("finished1") if t.status is TrialStatus.SUCCEEDED]
    curve = data["curve"]
    assert curve["trial"] == [t.id for t in done]
    assert curve["metric"] == [t.metric for t in done]
    assert curve["best"] == [max(t.metric for t in done[: i + 1]) for i in range(len(done))]  # type: ignore[type-var]
    by_time = sorted(done, key=lambda t: (t.ended_at, t.id))
    assert curve["time_trial"] == [t.id for t in by_time]
    first = min(t.started_at for t in store.storage.trials("finished1") if t.started_at)
    assert curve["time"] == pytest.approx([t.ended_at - first for t in by_time])  # type: ignore[operator]
    assert curve["time_best"][-1] == max(t.metric for t in done)  # type: ignore[type-var]


def test_unknown_experiment_is_404_naming_it(client: httpx.Client) -> None:
    message = error(client, "/api/experiments/nope", 404)
    assert "nope" in message
    assert "nope" in error(client, "/api/experiments/nope/trials", 404)
    assert "no API endpoint" in error(client, "/api/nothing/here", 404)


# --- trials ---------------------------------------------------------------------------------


def test_trials_page_sorts_filters_and_pages_like_storage(
    client: httpx.Client, store: Store
) -> None:
    trials = store.storage.trials("finished1")
    data = get(client, "/api/experiments/finished1/trials", sort="metric", order="desc", limit=10)
    scored = sorted((t for t in trials if t.metric is not None), key=lambda t: (-t.metric, t.id))  # type: ignore[operator]
    assert [r["id"] for r in data["trials"]] == [t.id for t in scored[:10]]
    assert data["total"] == 40 and data["order"] == "desc"
    page2 = get(client, "/api/experiments/finished1/trials", offset=10, limit=10)
    assert [r["id"] for r in page2["trials"]] == list(range(11, 21))
    assert [r["node"] for r in page2["trials"]] == [NODES[i % 3] for i in range(11, 21)]
    failed = get(client, "/api/experiments/finished1/trials", status="failed,timeout")
    assert {r["id"] for r in failed["trials"]} == {3, 5}
    assert failed["trials"][0]["error"].startswith("RuntimeError")
    arch = {EDGES[0]: "nor_conv_3x3", "width": 64}
    matched = get(client, "/api/experiments/finished1/trials", arch=json.dumps(arch), limit=500)
    expected = [t.id for t in trials if all(t.arch[k] == v for k, v in arch.items())]
    assert expected and [r["id"] for r in matched["trials"]] == expected
    assert matched["total"] == len(expected)
    by_label = get(client, "/api/experiments/finished1/trials", sort=f"arch.{EDGES[1]}", limit=500)
    values = [r["arch"][EDGES[1]] for r in by_label["trials"]]
    assert values == sorted(values)


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"sort": "colour"}, "sort must be one of"),
        ({"sort": "arch.nolabel"}, "arch.<label>"),
        ({"order": "up"}, "order must be one of asc, desc"),
        ({"limit": "0"}, "limit must be between 1 and 500"),
        ({"offset": "-1"}, "offset must be between"),
        ({"offset": "x"}, "offset must be an integer"),
        ({"status": "happy"}, "unknown status 'happy'"),
        ({"arch": "[1]"}, "arch must be a JSON object"),
        ({"arch": "{bad"}, "arch must be a JSON object"),
        ({"arch": '{"nolabel": 1}'}, "unknown label 'nolabel'"),
    ],
)
def test_bad_trial_queries_say_what_is_valid(
    client: httpx.Client, params: dict[str, str], needle: str
) -> None:
    assert needle in error(client, "/api/experiments/finished1/trials", 400, **params)


def test_trial_detail_failed_trial(client: httpx.Client, store: Store) -> None:
    trial = store.storage.trial("finished1", 3)
    data = get(client, "/api/experiments/finished1/trials/3")
    assert data["status"] == "failed" and data["metric"] is None
    assert data["error"] == trial.error and data["traceback"] == trial.traceback
    assert data["node"] == trial.node == NODES[0]  # the machine it ran on
    assert data["arch"] == trial.arch
    points = store.storage.metrics("finished1", 3)
    assert [p["step"] for p in data["intermediate"]] == [p.step for p in points]
    assert [p["metrics"] for p in data["intermediate"]] == [dict(p.metrics) for p in points]
    assert data["log"]["size"] == Path(str(trial.log_path)).stat().st_size
    (cell,) = data["cells"]
    assert cell["nodes"] == ["0", "1", "2", "3"]
    assert {(e["source"], e["target"], e["label"]) for e in cell["edges"]} == {
        (edge.split("<-")[1], edge.split("<-")[0], trial.arch[edge]) for edge in EDGES
    }


def test_trial_detail_unknown_and_bad_ids(client: httpx.Client) -> None:
    assert "no trial 999" in error(client, "/api/experiments/finished1/trials/999", 404)
    assert "integer" in error(client, "/api/experiments/finished1/trials/abc", 400)


HUGE = "99999999999999999999"  # beyond SQLite's 64-bit integers (sqlite3 raises OverflowError)


@pytest.mark.parametrize("trial", [HUGE, f"-{HUGE}", "-1", "0", "9" * 5000])
@pytest.mark.parametrize("suffix", ["", "/log", "/architecture.json"])
def test_trial_ids_out_of_range_are_refused_not_500(
    client: httpx.Client, trial: str, suffix: str
) -> None:
    response = client.get(f"/api/experiments/finished1/trials/{trial}{suffix}")
    assert response.status_code in (400, 404), response.text
    assert len(response.text) < 300  # the id is shortened in the message


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("trials", {"arch": json.dumps({"width": int(HUGE)})}),
        ("trials", {"arch": json.dumps({"width": -int(HUGE)})}),
        ("curves", {"trials": f"1,{HUGE}"}),
        ("curves", {"trials": f"-{HUGE}"}),
    ],
)
def test_query_values_beyond_64_bits_are_400(
    client: httpx.Client, path: str, params: dict[str, str]
) -> None:
    assert error(client, f"/api/experiments/finished1/{path}", 400, **params)


def test_curves_of_several_trials(client: httpx.Client, store: Store) -> None:
    data = get(client, "/api/experiments/finished1/curves", trials="1,2,3,999")
    for trial_id in (1, 2, 3):
        stored = store.storage.metrics("finished1", trial_id)
        assert [p["metrics"] for p in data["curves"][str(trial_id)]] == [
            dict(p.metrics) for p in stored
        ]
    assert data["curves"]["999"] == []
    assert "between 1 and" in error(client, "/api/experiments/finished1/curves", 400, trials="0")
    ids = ",".join(str(i) for i in range(1, 60))
    assert "at most 50" in error(client, "/api/experiments/finished1/curves", 400, trials=ids)


def test_architecture_download(client: httpx.Client, store: Store) -> None:
    response = client.get("/api/experiments/finished1/trials/7/architecture.json")
    assert response.status_code == 200
    assert response.headers["content-disposition"] == (
        'attachment; filename="finished1-trial-7.json"'
    )
    assert response.json() == store.storage.trial("finished1", 7).arch


# --- logs -----------------------------------------------------------------------------------


def test_log_tail_is_the_end_of_the_trials_own_file(client: httpx.Client, store: Store) -> None:
    path = store.storage.trial("finished1", 2).log_path
    assert path is not None
    text = Path(path).read_text(encoding="utf-8")
    whole = client.get("/api/experiments/finished1/trials/2/log")
    assert whole.status_code == 200 and whole.text == text
    assert whole.headers["x-log-truncated"] == "0"
    assert whole.headers["content-type"].startswith("text/plain")
    # Query parameters cannot name another file: there is no such parameter.
    other = client.get("/api/experiments/finished1/trials/2/log?path=/etc/passwd&file=../x")
    assert other.text == text


def test_log_tail_keeps_only_the_last_kilobytes_from_a_line_start(
    client: httpx.Client, store: Store
) -> None:
    big = store.log_dir / "big.log"
    lines = [f"line {i:06d} " + "x" * 50 + "\n" for i in range(40_000)]  # ~2.4 MB
    big.write_text("".join(lines), encoding="utf-8")
    trial = store.storage.add_trial("running1", store.storage.trials("running1")[0].arch)
    store.storage.start_trial("running1", trial.id, log_path=str(big))
    response = client.get(f"/api/experiments/running1/trials/{trial.id}/log", params={"kb": 4})
    assert response.headers["x-log-truncated"] == "1"
    assert int(response.headers["x-log-size"]) == big.stat().st_size
    assert len(response.content) <= 4096 and response.text.endswith(lines[-1])
    assert response.text.startswith("line ")  # the cut line is dropped
    assert "kb must be between 1 and 1024" in error(
        client, f"/api/experiments/running1/trials/{trial.id}/log", 400, kb=5000
    )


def test_log_missing_is_404(client: httpx.Client, store: Store) -> None:
    waiting = [t for t in store.storage.trials("running1") if t.status is TrialStatus.WAITING]
    assert "no log file" in error(
        client, f"/api/experiments/running1/trials/{waiting[0].id}/log", 404
    )


# --- choices and one-shot -------------------------------------------------------------------


def test_choice_analysis_matches_grouped_storage(client: httpx.Client, store: Store) -> None:
    data = get(client, "/api/experiments/finished1/choices")
    trials = store.storage.trials("finished1")
    done = [t for t in trials if t.status is TrialStatus.SUCCEEDED]
    assert [c["label"] for c in data["choices"]] == [*EDGES, "width"]
    for choice in data["choices"]:
        label = choice["label"]
        for cand in choice["candidates"]:
            picked = [t for t in trials if t.arch[label] == cand["value"]]
            metrics = [t.metric for t in done if t.arch[label] == cand["value"]]
            assert cand["trials"] == len(picked) and cand["count"] == len(metrics)
            if metrics:
                assert cand["mean"] == pytest.approx(statistics.fmean(metrics))  # type: ignore[arg-type]
                assert cand["median"] == pytest.approx(statistics.median(metrics))  # type: ignore[type-var]
                assert cand["best"] == max(metrics)  # type: ignore[type-var]
                q1, _, q3 = statistics.quantiles(metrics, n=4, method="inclusive")  # type: ignore[arg-type]
                assert (cand["q1"], cand["q3"]) == pytest.approx((q1, q3))
    parallel = data["parallel"]
    assert parallel["trials"] == [t.id for t in done]
    width_axis = parallel["axes"][-1]
    assert width_axis["ticks"] == ["16", "32", "64"]
    assert [width_axis["ticks"][i] for i in width_axis["values"]] == [
        str(t.arch["width"]) for t in done
    ]


def test_oneshot_view_equals_the_trainers_history(client: httpx.Client, store: Store) -> None:
    run = store.oneshot
    data = get(client, f"/api/experiments/{run.experiment_id}/oneshot")
    assert data["algorithm"] == "darts"
    assert data["epochs"] == list(range(ONESHOT_EPOCHS))
    assert data["exported"] == run.exported
    for entry_n, entry in enumerate(run.history):
        for name, value in entry["valid"].items():
            assert data["curves"]["valid"][name][entry_n] == pytest.approx(value)
        for name, value in entry["train"].items():
            assert data["curves"]["train"][name][entry_n] == pytest.approx(value)
    probs = {p["label"]: p for p in data["probabilities"]}
    assert set(probs) == set(run.history[0]["probabilities"])
    for label, p in probs.items():
        assert p["values"] == [pytest.approx(e["probabilities"][label]) for e in run.history]
        assert math.isclose(sum(p["values"][-1]), 1.0, rel_tol=1e-5)
    assert probs["cell/op_0_0"]["candidates"] == ["conv3", "pool", "skip"]
    detail = get(client, f"/api/experiments/{run.experiment_id}/trials/1")
    assert detail["arch"] == run.exported
    (cell,) = detail["cells"]
    assert cell["name"] == "cell" and cell["inputs"] == ["in0"]
    assert "not a one-shot run" in error(client, "/api/experiments/finished1/oneshot", 400)


# --- read-only, headers, traversal ----------------------------------------------------------

ENDPOINTS = [
    "/",
    "/static/app.js",
    "/api/experiments",
    "/api/experiments/finished1",
    "/api/experiments/finished1/trials",
    "/api/experiments/finished1/trials/1",
    "/api/experiments/finished1/trials/1/log",
    "/api/experiments/finished1/choices",
]


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
def test_every_method_but_get_is_refused(client: httpx.Client, store: Store, method: str) -> None:
    before = [(r, store.storage.trials(r.id)) for r in store.storage.experiments()]
    for path in [*ENDPOINTS, "/api/experiments/finished1/stop", "/nowhere"]:
        response = client.request(method, path, content=b'{"status": "stopped"}')
        assert response.status_code == 405, (method, path)
        assert response.headers["allow"] == "GET, HEAD"
    assert [(r, store.storage.trials(r.id)) for r in store.storage.experiments()] == before


def test_security_headers_on_every_response(client: httpx.Client) -> None:
    for path in [*ENDPOINTS, "/api/experiments/nope", "/static/nothing.js"]:
        headers = client.get(path).headers
        assert "script-src 'self'" in headers["content-security-policy"]
        assert "unsafe-eval" not in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"


def test_static_files_and_plotly_from_the_wheel(client: httpx.Client) -> None:
    index = client.get("/")
    assert index.status_code == 200 and '<script type="module" src="/static/app.js">' in index.text
    app_js = client.get("/static/app.js")
    assert app_js.headers["content-type"].startswith("text/javascript")
    plotly = client.get("/static/plotly.min.js")
    assert plotly.status_code == 200 and len(plotly.content) > 1_000_000
    assert b"plotly.js" in plotly.content[:2000]
    assert client.get("/static/pages/trials.js").status_code == 200
