"""The dashboard stays fast with 10,000 trials in storage.

A temporary SQLite store gets one experiment of 10,000 finished trials (a NAS-Bench-201 cell
plus a width: 7 choices; 4 intermediate points each), written through the Storage API as the
runner writes them. `archsearch view` serves it from its own process on 127.0.0.1, and this
script times, as a client over HTTP (wall clock, median of rounds):

- a trials page: 50 rows sorted by metric at offset 5,000, and 50 rows filtered by two choices
  and a status; target ≤ 200 ms. Baseline: the same page as one raw `SELECT` on the database
  (sqlite3, no HTTP, no JSON).
- the experiment overview (summary, config, space, best-so-far curves over every trial);
  target ≤ 300 ms. Baseline: a raw `SELECT` of every trial row of the experiment.
- the choice analysis (no target; it reads every trial too).
- first paint of the trials page in headless Chromium (a fresh browser context each round):
  the Performance API's first-contentful-paint and the time until the table holds its rows;
  target ≤ 2 s for the table. Skipped, with a JSON line saying why, without /usr/bin/chromium.

`--quick` uses 500 trials and few rounds.
"""

from __future__ import annotations

import json
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from common import emit, parse_args

from archsearch.space import LayerChoiceDim, SearchSpace, TrialStatus, ValueChoiceDim
from archsearch.storage import ExperimentRecord, ExperimentStatus, MetricPoint, SQLiteStorage

BENCHMARK = "ui_speed"
CHROMIUM = Path("/usr/bin/chromium")
OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
EDGES = ("1<-0", "2<-0", "2<-1", "3<-0", "3<-1", "3<-2")
EXPERIMENT = "bench"
PAGE_TARGET_MS = 200.0
OVERVIEW_TARGET_MS = 300.0
PAINT_TARGET_MS = 2000.0


def fill(storage: SQLiteStorage, trials: int) -> SearchSpace:
    """One finished experiment with `trials` trials (3% failed), written as the runner does."""
    space = SearchSpace(
        [*(LayerChoiceDim(e, OPS) for e in EDGES), ValueChoiceDim("width", (16, 32, 64))]
    )
    rng = random.Random(0)
    now = time.time()
    config = {"max_trial_number": trials, "optimize_mode": "maximize", "trial_concurrency": 4}
    storage.create_experiment(
        ExperimentRecord(
            EXPERIMENT, "10k trials", config=config, search_space=space.to_json(), created_at=now
        )
    )
    storage.update_experiment(EXPERIMENT, status=ExperimentStatus.RUNNING, started_at=now)
    for _ in range(trials):
        trial = storage.add_trial(EXPERIMENT, space.sample(rng))
        storage.start_trial(EXPERIMENT, trial.id, log_path=None)
        final = rng.uniform(0.3, 0.95)
        storage.report_metrics(
            EXPERIMENT,
            [MetricPoint(trial.id, s, {"default": final * (s + 1) / 4}, now) for s in range(4)],
        )
        if rng.random() < 0.03:
            storage.finish_trial(EXPERIMENT, trial.id, TrialStatus.FAILED, error="boom")
        else:
            storage.finish_trial(
                EXPERIMENT,
                trial.id,
                TrialStatus.SUCCEEDED,
                metric=final,
                metrics={"default": final},
            )
    storage.update_experiment(EXPERIMENT, status=ExperimentStatus.DONE, ended_at=time.time())
    return space


def start_view(db: Path) -> tuple[subprocess.Popen[str], str]:
    """`archsearch view` on a free port in its own process; returns it and its base URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "archsearch.cli.main", "view", "--storage", str(db), "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("archsearch dashboard: "):
        process.kill()
        raise RuntimeError(f"archsearch view did not start: {line!r}")
    return process, line.split()[2].split("#")[0]


def median_ms(fn: Callable[[], Any], rounds: int) -> float:
    fn()  # warm-up: first connection, page cache
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def api_figures(client: httpx.Client, db: Path, trials: int, rounds: int, quick: bool) -> None:
    conn = sqlite3.connect(db)
    columns = "id, arch, status, metric, metrics, started_at, ended_at, error"
    arch = {"1<-0": "nor_conv_3x3", "width": 64}
    pages = {
        "trials_page_by_metric": (
            {"sort": "metric", "order": "desc", "offset": trials // 2, "limit": 50},
            f"SELECT {columns} FROM trials WHERE experiment_id = ? "
            "ORDER BY metric DESC NULLS LAST, id LIMIT 50 OFFSET ?",
            (EXPERIMENT, trials // 2),
        ),
        "trials_page_filtered": (
            {"arch": json.dumps(arch), "status": "succeeded", "sort": "duration", "limit": 50},
            f"SELECT {columns} FROM trials WHERE experiment_id = ? AND status = 'succeeded' "
            "AND json_extract(arch, '$.\"1<-0\"') = ? AND json_extract(arch, '$.width') = ? "
            "ORDER BY ended_at - started_at NULLS LAST, id LIMIT 50",
            (EXPERIMENT, arch["1<-0"], arch["width"]),
        ),
    }
    url = f"/api/experiments/{EXPERIMENT}"
    for figure, (params, sql, args) in pages.items():
        got = client.get(f"{url}/trials", params=params).json()
        assert len(got["trials"]) == len(conn.execute(sql, args).fetchall())
        ms = median_ms(lambda p=params: client.get(f"{url}/trials", params=p).content, rounds)
        base = median_ms(lambda s=sql, a=args: conn.execute(s, a).fetchall(), rounds)
        emit(
            BENCHMARK,
            figure=figure,
            trials=trials,
            rows=len(got["trials"]),
            archsearch_ms=ms,
            baseline_ms=base,
            ratio=ms / base,
            baseline="raw SELECT of the same page (sqlite3, no HTTP/JSON)",
            target=f"archsearch_ms <= {PAGE_TARGET_MS:g}",
            **{"pass": ms <= PAGE_TARGET_MS},
            quick=quick,
            clock="perf_counter, HTTP client side",
        )
    all_rows = f"SELECT {columns} FROM trials WHERE experiment_id = ?"
    overview_ms = median_ms(lambda: client.get(url).content, rounds)
    base = median_ms(lambda: conn.execute(all_rows, (EXPERIMENT,)).fetchall(), rounds)
    emit(
        BENCHMARK,
        figure="overview",
        trials=trials,
        archsearch_ms=overview_ms,
        baseline_ms=base,
        ratio=overview_ms / base,
        baseline="raw SELECT of every trial row",
        target=f"archsearch_ms <= {OVERVIEW_TARGET_MS:g}",
        **{"pass": overview_ms <= OVERVIEW_TARGET_MS},
        quick=quick,
        clock="perf_counter, HTTP client side",
    )
    choices_ms = median_ms(lambda: client.get(f"{url}/choices").content, rounds)
    emit(BENCHMARK, figure="choices", trials=trials, choices_ms=choices_ms, quick=quick)
    conn.close()


PAINT = """() => {
  const fcp = performance.getEntriesByName("first-contentful-paint")[0];
  return {fcp: fcp ? fcp.startTime : null, table: window.__tableAt ?? null};
}"""
MARK_TABLE = """
new MutationObserver((_, observer) => {
  if (document.querySelector("#trials-table tbody tr")) {
    window.__tableAt = performance.now();
    observer.disconnect();
  }
}).observe(document, {childList: true, subtree: true});
"""


def paint_figure(base_url: str, trials: int, rounds: int, quick: bool) -> None:
    if not CHROMIUM.exists():
        emit(
            BENCHMARK,
            figure="trials_first_paint",
            skipped=f"no chromium at {CHROMIUM} (apt-get install chromium)",
            quick=quick,
        )
        return
    from playwright.sync_api import sync_playwright

    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
    fcp, table = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=args)
        for _ in range(rounds + 1):
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.add_init_script(MARK_TABLE)
            page.goto(f"{base_url}#/e/{EXPERIMENT}/trials")
            page.wait_for_selector("#trials-table tbody tr", timeout=30_000)
            marks = page.evaluate(PAINT)
            fcp.append(marks["fcp"])
            table.append(marks["table"])
            context.close()
        browser.close()
    fcp_ms, table_ms = statistics.median(fcp[1:]), statistics.median(table[1:])
    emit(
        BENCHMARK,
        figure="trials_first_paint",
        trials=trials,
        first_contentful_paint_ms=fcp_ms,
        table_rendered_ms=table_ms,
        rounds=rounds,
        target=f"table_rendered_ms <= {PAINT_TARGET_MS:g}",
        **{"pass": table_ms <= PAINT_TARGET_MS},
        quick=quick,
        clock="Performance API, from navigation start (fresh browser context)",
    )


def main() -> None:
    args = parse_args(__doc__.splitlines()[0] if __doc__ else "")
    trials = 500 if args.quick else 10_000
    rounds = 3 if args.quick else 21
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "experiments.db"
        storage = SQLiteStorage(db)
        fill(storage, trials)
        storage.close()
        process, base_url = start_view(db)
        try:
            with httpx.Client(base_url=base_url, timeout=30) as client:
                api_figures(client, db, trials, rounds, args.quick)
            paint_figure(base_url, trials, 2 if args.quick else 7, args.quick)
        finally:
            process.terminate()
            process.wait(timeout=10)


if __name__ == "__main__":
    main()
