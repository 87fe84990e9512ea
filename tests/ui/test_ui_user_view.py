"""What a user sees in cases the other UI tests do not build: a resumed experiment's duration,
an experiment whose runner was killed, a space with many choices, an empty trial log, a long
configuration value and a one-shot run's overview. Real SQLite, real uvicorn, real Chromium."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_ui_browser import ARGS, CHROMIUM, Page

from archsearch.space import SearchSpace, TrialStatus
from archsearch.storage import ExperimentRecord, ExperimentStatus, SQLiteStorage, Storage
from archsearch.ui import serve_in_background
from archsearch.ui.experiments import summary

WIDE_SPACE = SearchSpace.from_json(
    {
        f"blocks.{i}.{kind}": {"_type": "layer_choice", "_value": ["conv3", "conv5", "maxpool3"]}
        if kind == "op"
        else {"_type": "choice", "_value": [16, 32]}
        for i in range(5)
        for kind in ("op", "width")
    }
)


def dead_pid() -> int:
    """The id of a process that has exited."""
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    return gone.pid


def experiment(storage: Storage, experiment_id: str, **config: Any) -> None:
    storage.create_experiment(
        ExperimentRecord(
            id=experiment_id,
            name=experiment_id,
            config={"max_trial_number": 10, **config},
            search_space=WIDE_SPACE.to_json(),
            created_at=time.time() - 500,
        )
    )


def finished_trials(storage: Storage, experiment_id: str, n: int, logs: Path) -> None:
    for i in range(n):
        trial = storage.add_trial(experiment_id, WIDE_SPACE.sample(i))
        log = logs / f"{experiment_id}-{trial.id}.log"
        log.write_text("" if trial.id == 1 else f"epoch 1: {i}\n")
        storage.start_trial(experiment_id, trial.id, log_path=str(log))
        metric = 0.5 + 0.1 * i
        storage.finish_trial(
            experiment_id,
            trial.id,
            TrialStatus.SUCCEEDED,
            metric=metric,
            metrics={"default": metric},
        )


@pytest.fixture(scope="module")
def user_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Storage]:
    root = tmp_path_factory.mktemp("ui_user")
    storage = SQLiteStorage(root / "experiments.db")
    now = time.time()
    # Ran 100 s, was stopped, then resumed for a last 10 s run.
    experiment(storage, "resumed", training_service={"platform": "local", "note": "x" * 300})
    finished_trials(storage, "resumed", 4, root)
    storage.update_experiment(
        "resumed",
        status=ExperimentStatus.DONE,
        started_at=now - 10,
        ended_at=now,
        spec={"elapsed_s": 110.0},
    )
    # Resumed after 100 s and running for 10 s now (its process is this one).
    experiment(storage, "again")
    storage.update_experiment(
        "again",
        status=ExperimentStatus.RUNNING,
        started_at=now - 10,
        pid=os.getpid(),
        spec={"elapsed_s": 100.0},
    )
    # Killed with SIGKILL after 50 s in an earlier run: "running" with no process left.
    experiment(storage, "killed")
    storage.update_experiment(
        "killed",
        status=ExperimentStatus.RUNNING,
        started_at=now - 3600,
        pid=dead_pid(),
        spec={"elapsed_s": 50.0},
    )
    # A one-shot run: one trial, the supernet.
    storage.create_experiment(
        ExperimentRecord(
            id="oneshot",
            name="oneshot",
            kind="oneshot",
            config={"num_epochs": 2},
            search_space=WIDE_SPACE.to_json(),
            created_at=now - 20,
            started_at=now - 20,
        )
    )
    storage.add_trial("oneshot", WIDE_SPACE.default())
    storage.start_trial("oneshot", 1)
    storage.finish_trial("oneshot", 1, TrialStatus.SUCCEEDED, metric=0.9)
    storage.update_experiment("oneshot", status=ExperimentStatus.DONE, ended_at=now)
    yield storage
    storage.close()


def test_durations_count_every_run_and_a_killed_run_is_interrupted(user_store: Storage) -> None:
    now = time.time()
    rows = {r.id: summary(user_store, r, now) for r in user_store.experiments()}
    assert rows["resumed"]["duration"] == 110.0  # not the 10 s since the last start
    assert rows["again"]["status"] == "running"
    assert rows["again"]["duration"] == pytest.approx(110.0, abs=2.0)
    assert rows["killed"]["status"] == "interrupted"
    assert rows["killed"]["duration"] == 50.0  # not an hour and counting
    assert rows["oneshot"]["duration"] == pytest.approx(20.0, abs=2.0)


@pytest.fixture(scope="module")
def page(user_store: Storage) -> Iterator[Page]:
    if not CHROMIUM.exists():
        pytest.skip("needs Debian's chromium (make setup installs it)")
    from playwright.sync_api import sync_playwright

    handle = serve_in_background(user_store, 0)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        tab = Page(browser, f"http://127.0.0.1:{handle.port}")
        yield tab
        tab.check_clean()
        browser.close()
    handle.stop()


def test_a_killed_experiment_is_interrupted_not_live(page: Page) -> None:
    tab = page.visit("#/e/killed")
    assert tab.locator("#facts .badge").first.inner_text() == "interrupted"
    assert tab.locator(".live").is_hidden()


def test_parallel_coordinates_fit_their_card(page: Page) -> None:
    tab = page.visit("#/e/resumed/choices")
    card = tab.locator("#parallel").bounding_box()
    figure = tab.locator(".parcoords").bounding_box()
    assert card and figure
    assert figure["x"] + figure["width"] <= card["x"] + card["width"]  # the metric axis shows
    titles = tab.locator(".parcoords .axis-title").all_text_contents()
    assert len(titles) == 11 and titles[-1] == "metric"


def test_overview_ticks_whole_trials_and_wraps_long_config(page: Page) -> None:
    tab = page.visit("#/e/resumed")
    page.settle()
    trial_ticks = tab.locator("#search-curves .chart").first.locator(".xtick text")
    assert [float(t) for t in trial_ticks.all_text_contents()] == [1, 2, 3, 4]
    count_ticks = tab.locator("#distribution .ytick text").all_text_contents()
    assert count_ticks and all(float(t).is_integer() for t in count_ticks)
    width = tab.evaluate("document.documentElement.scrollWidth")
    assert width <= tab.viewport_size["width"]  # the 300-character value wrapped
    assert tab.locator("#facts").inner_text().count("1m 50s") == 1


def test_an_empty_log_says_so(page: Page) -> None:
    tab = page.visit("#/e/resumed/trials/1")
    assert page.text("#log-info") == "The log file is empty: the trial printed nothing."
    assert tab.locator("#log").is_hidden()
    tab = page.visit("#/e/resumed/trials/2")
    assert page.text("#log") == "epoch 1: 1"


def test_a_one_shot_overview_has_no_search_curves(page: Page) -> None:
    tab = page.visit("#/e/resumed")
    assert tab.locator("#search-curves").is_visible() and tab.locator("#distribution").is_visible()
    tab = page.visit("#/e/oneshot")
    assert tab.locator("#search-curves").count() == tab.locator("#distribution").count() == 1
    assert tab.locator("#search-curves").is_hidden()
    assert tab.locator("#distribution").is_hidden()
    assert tab.locator("#config").is_visible() and tab.locator("#space").is_visible()
