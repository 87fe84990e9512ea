"""The dashboard in a real browser: headless Chromium from Debian driven by Playwright.

Each page is opened for a finished experiment and a one-shot run; what it shows is compared
with storage. Every test also fails on a JavaScript error, a Content-Security-Policy violation
or a dialog. Screenshots go to artifacts/ui/.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from builders import EDGES, NODES, ONESHOT_EPOCHS, TRACEBACK, XSS, Store

from archsearch.space import InputChoiceDim, SearchSpace, TrialStatus, best_trials

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "ui"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium (make setup installs it)"
)

WATCH = """
window.__csp = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.__csp.push(e.violatedDirective + " " + e.blockedURI));
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


class Page:
    """A browser tab on the dashboard that records errors, dialogs and CSP violations."""

    def __init__(self, browser: Any, base_url: str) -> None:
        self.base = base_url
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.tab = self.context.new_page()
        self.tab.add_init_script(WATCH)
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.tab.on("pageerror", lambda e: self.errors.append(str(e)))
        self.tab.on("dialog", self._dialog)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def visit(self, fragment: str) -> Any:
        """Open `#/...` and wait until the page has rendered its data."""
        if self.tab.url.startswith(self.base):
            self.tab.evaluate("document.body.dataset.ready = ''")
        self.tab.goto(f"{self.base}/{fragment}")
        self.tab.wait_for_selector("body[data-ready='1']", timeout=15_000)
        return self.tab

    def settle(self) -> None:
        """Wait for every chart container to be drawn."""
        self.tab.wait_for_function(
            "[...document.querySelectorAll('.chart:not([hidden])')]"
            ".every((c) => c.dataset.drawn === '1' || c.closest('[hidden]'))",
            timeout=15_000,
        )

    def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.tab.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    def text(self, selector: str) -> str:
        return str(self.tab.locator(selector).first.inner_text()).strip()

    def check_clean(self) -> None:
        assert self.errors == []
        assert self.dialogs == []
        assert self.tab.evaluate("window.__csp") == []


@pytest.fixture(scope="module")
def tab(browser: Any, base_url: str) -> Iterator[Page]:
    """One tab for the module: the app is a single page, so plotly.js loads once."""
    tab = Page(browser, base_url)
    yield tab
    tab.context.close()


@pytest.fixture
def page(tab: Page) -> Iterator[Page]:
    """The shared tab, checked after each test for errors, dialogs and CSP violations."""
    tab.errors.clear()
    tab.dialogs.clear()
    if tab.tab.url.startswith(tab.base):
        tab.tab.evaluate("window.__csp = []")
    yield tab
    tab.check_clean()


def shown(value: float, digits: int = 6) -> float:
    """A metric as the page prints it (`Number(v.toPrecision(digits))`)."""
    return float(f"{value:.{digits}g}")


# --- pages of a finished experiment -----------------------------------------------------------


def test_experiments_page_lists_every_experiment(page: Page, store: Store) -> None:
    tab = page.visit("#/")
    for record in store.storage.experiments():
        row = tab.locator(f"#experiments tr[data-id='{record.id}']")
        assert row.locator("td.name").inner_text() == record.name
        assert row.locator(".badge").inner_text() == record.status.value
        best = best_trials(store.storage.trials(record.id), "maximize")
        cell = row.locator("td.best")
        if best:
            assert float(cell.inner_text().split()[0]) == shown(best[0].metric)  # type: ignore[arg-type]
            assert f"(#{best[0].id})" in cell.inner_text()
    assert "40 / 50 trials" in tab.locator("tr[data-id='finished1']").inner_text()
    page.shot("experiments")


def test_overview_page_matches_storage(page: Page, store: Store) -> None:
    tab = page.visit("#/e/finished1")
    page.settle()
    counts = store.storage.status_counts("finished1")
    for status, n in counts.items():
        assert tab.locator(f"#status-counts tr[data-status='{status}'] td.num").inner_text() == str(
            n
        )
    best = best_trials(store.storage.trials("finished1"), "maximize")[0]
    assert float(page.text("#best-metric")) == shown(best.metric)  # type: ignore[arg-type]
    assert page.text("#space-size") == "46,875 architectures, 7 choices"
    succeeded = counts["succeeded"]
    assert tab.locator(".chart[data-points]").first.get_attribute("data-points") == str(succeeded)
    # plotly drew one marker per succeeded trial in the by-trial chart
    markers = tab.locator(".chart").first.locator(".scatterlayer .trace").first.locator(".point")
    assert markers.count() == succeeded
    page.shot("overview")


def table_ids(tab: Any) -> list[int]:
    return [
        int(i)
        for i in tab.locator("#trials-table tbody tr").evaluate_all(
            "(rows) => rows.map((r) => r.dataset.id)"
        )
    ]


def wait_info(tab: Any, text: str) -> None:
    tab.wait_for_function(
        "(t) => document.getElementById('page-info').textContent === t", arg=text, timeout=10_000
    )


def test_trials_table_sorts_filters_pages_and_overlays(page: Page, store: Store) -> None:
    trials = {t.id: t for t in store.storage.trials("finished1")}
    tab = page.visit("#/e/finished1/trials")
    assert page.text("#page-info") == "1–40 of 40"
    assert table_ids(tab) == list(range(1, 41))
    first = tab.locator("#trials-table tbody tr").first
    assert float(first.locator("td.metric").inner_text()) == shown(trials[1].metric)  # type: ignore[arg-type]
    nodes = tab.locator("#trials-table tbody td.node").all_inner_texts()
    assert nodes == [trials[i].node for i in range(1, 41)] and nodes[:3] == [*NODES[1:], NODES[0]]
    page.shot("trials")

    tab.click("th[data-sort='metric'] button")  # metric sorts best first
    tab.wait_for_selector("th[data-sort='metric'][aria-sort='descending']")
    ranked = sorted(
        (t for t in trials.values() if t.metric is not None),
        key=lambda t: (-t.metric, t.id),  # type: ignore[operator]
    )
    assert table_ids(tab)[: len(ranked)] == [t.id for t in ranked]
    assert table_ids(tab)[len(ranked) :] == [3, 5, 40]  # no metric: last, by id
    tab.click("th[data-sort='metric'] button")
    tab.wait_for_selector("th[data-sort='metric'][aria-sort='ascending']")
    assert table_ids(tab)[0] == ranked[-1].id

    tab.select_option("#status-filter", "failed")
    wait_info(tab, "1–1 of 1")
    assert table_ids(tab) == [3]
    tab.click("#clear-filters")
    wait_info(tab, "1–40 of 40")

    tab.select_option(f"select.choice-filter[data-label='{EDGES[0]}']", label="nor_conv_3x3")
    expected = sorted(
        (t for t in trials.values() if t.arch[EDGES[0]] == "nor_conv_3x3" and t.metric is not None),
        key=lambda t: t.metric,  # type: ignore[arg-type, return-value]
    )
    total = sum(t.arch[EDGES[0]] == "nor_conv_3x3" for t in trials.values())
    wait_info(tab, f"1–{total} of {total}")
    assert table_ids(tab)[: len(expected)] == [t.id for t in expected]
    cells = tab.locator(f"#trials-table tbody td.choice[data-label='{EDGES[0]}']")
    assert set(cells.all_inner_texts()) == {"nor_conv_3x3"}
    tab.click("#clear-filters")
    wait_info(tab, "1–40 of 40")

    tab.select_option("#page-size", "25")
    wait_info(tab, "1–25 of 40")
    tab.click("#page-next")
    wait_info(tab, "26–40 of 40")
    ascending = sorted(ranked, key=lambda t: (t.metric, t.id))  # type: ignore[arg-type, return-value]
    assert table_ids(tab) == [t.id for t in ascending[25:]] + [3, 5, 40]

    boxes = tab.locator("#trials-table tbody input[type='checkbox']")
    boxes.nth(0).check()
    boxes.nth(1).check()
    tab.wait_for_selector("#overlay-chart[data-traces='2']", timeout=10_000)
    assert tab.locator("#overlay-chart .scatterlayer .trace").count() == 2
    page.shot("trials-overlay")

    link = tab.locator("#trials-table tbody tr").first.locator("a")
    trial_id = int(link.inner_text().lstrip("#"))
    tab.evaluate("document.body.dataset.ready = ''")
    link.click()
    tab.wait_for_selector("body[data-ready='1'][data-page='trial']")
    assert page.text("h1").startswith(f"Trial #{trial_id}")


def test_trial_page_of_a_failed_trial(page: Page, store: Store) -> None:
    trial = store.storage.trial("finished1", 3)
    tab = page.visit("#/e/finished1/trials/3")
    page.settle()
    assert page.text("#error") == trial.error
    assert page.text("#node") == trial.node == NODES[0]
    assert tab.locator("#traceback").text_content() == trial.traceback == TRACEBACK
    log = Path(str(trial.log_path)).read_text(encoding="utf-8")
    assert tab.locator("#log").text_content() == log
    rows = tab.locator("#arch-table tr")
    assert {r.get_attribute("data-label"): r.locator("td").inner_text() for r in rows.all()} == {
        k: str(v) for k, v in trial.arch.items()
    }
    edges = tab.locator("svg.cell-graph g.edge")
    assert edges.count() == 6
    drawn = {
        (
            e.get_attribute("data-source"),
            e.get_attribute("data-target"),
            e.locator("text").inner_html(),
        )
        for e in edges.all()
    }
    assert drawn == {(e.split("<-")[1], e.split("<-")[0], trial.arch[e]) for e in EDGES}
    href = tab.locator("#download-arch").get_attribute("href")
    download = tab.request.get(f"{page.base}{href}")
    assert json.loads(download.body()) == trial.arch
    assert tab.locator("#trial-curve").get_attribute("data-points") == "2"
    page.shot("trial-failed")


def test_trial_page_of_the_best_trial(page: Page, store: Store) -> None:
    best = best_trials(store.storage.trials("finished1"), "maximize")[0]
    tab = page.visit(f"#/e/finished1/trials/{best.id}")
    page.settle()
    assert float(page.text("#final-metric")) == shown(best.metric)  # type: ignore[arg-type]
    assert tab.locator("#failure").is_hidden()
    assert tab.locator("#trial-curve").get_attribute("data-points") == "4"
    tab.select_option("#trial-curve-metric", "loss")
    tab.wait_for_function(
        "document.querySelector('#trial-curve .ytitle').textContent === 'loss'", timeout=5000
    )
    page.shot("trial")


def test_choices_page_matches_grouped_storage(page: Page, store: Store) -> None:
    trials = store.storage.trials("finished1")
    done = [t for t in trials if t.status is TrialStatus.SUCCEEDED]
    tab = page.visit("#/e/finished1/choices")
    page.settle()
    assert tab.locator(".parcoords").get_attribute("data-lines") == str(len(done))
    for label in [EDGES[0], "width"]:
        card = tab.locator(f".choice-card[data-label='{label}']")
        for row in card.locator("tbody tr").all():
            text = row.get_attribute("data-candidate")
            metrics = [t.metric for t in done if str(t.arch[label]) == text]
            assert int(row.locator("td.count").inner_text()) == len(metrics)
            if metrics:
                mean = sum(metrics) / len(metrics)  # type: ignore[arg-type]
                assert float(row.locator("td.mean").inner_text()) == shown(mean, 4)
                assert float(row.locator("td.best").inner_text()) == shown(max(metrics), 4)  # type: ignore[type-var]
    page.shot("choices")


# --- a one-shot run -------------------------------------------------------------------------


def test_oneshot_page_matches_the_trainer(page: Page, store: Store) -> None:
    run = store.oneshot
    tab = page.visit(f"#/e/{run.experiment_id}/oneshot")
    page.settle()
    assert page.text("#epochs-done") == f"{ONESHOT_EPOCHS} / {ONESHOT_EPOCHS}"
    last = run.history[-1]["probabilities"]
    chips = tab.locator("#last-probabilities .prob")
    assert chips.count() == sum(len(p) for p in last.values())
    for row in tab.locator("#last-probabilities tbody tr").all():
        label = row.get_attribute("data-label")
        values = [float(c.split(": ")[-1]) for c in row.locator(".prob").all_inner_texts()]
        assert values == [shown(p, 4) for p in last[label]]
    exported = {
        r.get_attribute("data-label"): r.locator("td").inner_text()
        for r in tab.locator("#exported-table tr").all()
    }
    assert set(exported) == set(run.exported)
    space = SearchSpace.from_json(store.storage.experiment(run.experiment_id).search_space)
    for label, value in run.exported.items():
        dim = space[label]
        if isinstance(dim, InputChoiceDim):  # input choices show the chosen inputs' names
            assert exported[label] == " + ".join(dim.names[i] for i in value)
        else:
            assert exported[label] == value
    assert tab.locator("#exported svg.cell-graph").count() == 1
    charts = tab.locator("#probabilities .chart[data-drawn='1']")
    assert charts.count() == len(last)
    valid = run.history[-1]["valid"]
    final = tab.locator("[data-key='valid/acc']")
    assert float(final.inner_text()) == shown(valid["acc"])
    page.shot("oneshot")


# --- hostile content, live updates ----------------------------------------------------------


def test_hostile_names_are_shown_as_text_and_never_run(page: Page) -> None:
    for fragment in (
        "#/",
        "#/e/xss1",
        "#/e/xss1/trials",
        "#/e/xss1/trials/1",
        "#/e/xss1/trials/2",
        "#/e/xss1/choices",
    ):
        tab = page.visit(fragment)
        page.settle()
        tab.wait_for_timeout(150)  # let an injected onerror fire if there were one
        assert tab.evaluate("window.__xss") is None, fragment
        body = tab.locator("body").inner_text()
        assert "<script>window.__xss = 1</script>" in body, fragment
        assert tab.locator("main script, main img, main iframe").count() == 0
    # a hostile metric name as the curve's axis title: plotly shows it as text
    tab = page.visit("#/e/xss1/trials/1")
    page.settle()
    hostile_metric = f"acc{XSS}"
    tab.select_option("#trial-curve-metric", hostile_metric)
    tab.wait_for_function(
        "(t) => document.querySelector('#trial-curve .ytitle')?.textContent === t",
        arg=hostile_metric,
        timeout=5000,
    )
    assert tab.evaluate("window.__xss") is None
    # storage cannot query a label holding '"': the table says so and keeps working
    tab = page.visit("#/e/xss1/trials")
    tab.locator("th.choice button").first.click()
    tab.wait_for_selector("#trials-error:not([hidden])")
    assert "cannot be queried" in page.text("#trials-error")
    assert table_ids(tab) == [1, 2]
    tab = page.visit("#/e/xss1/choices")
    page.settle()
    # plotly's own SVG text holds the escaped candidate name literally
    ticks = tab.locator(".choice-card .xtick text").all_text_contents()
    assert any("<script>" in t for t in ticks), ticks
    page.shot("hostile-choices")


def test_a_running_experiment_updates_live(page: Page, store: Store) -> None:
    tab = page.visit("#/e/running1/trials")
    assert tab.locator("#live").is_visible()
    before = int(tab.locator("#page-info").get_attribute("data-total"))
    waiting = [t for t in store.storage.trials("running1") if t.status is TrialStatus.WAITING]
    store.storage.add_trial("running1", waiting[0].arch)
    started = time.monotonic()
    tab.wait_for_function(
        "(n) => document.getElementById('page-info').dataset.total === String(n)",
        arg=before + 1,
        timeout=8000,
    )
    assert time.monotonic() - started < 8
