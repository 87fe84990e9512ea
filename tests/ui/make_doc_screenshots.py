"""Take the screenshots in docs/images/; run by hand:

    .venv/bin/python tests/ui/make_doc_screenshots.py

Builds the same kind of store as the tests (a finished NAS-Bench-201-style random search and a
recorded DARTS run, longer here so the probabilities move), serves it, and saves one PNG per
page, reduced to a small palette when Pillow is installed.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import builders
from playwright.sync_api import sync_playwright

from archsearch.storage import SQLiteStorage
from archsearch.ui import serve_in_background

OUT = Path(__file__).resolve().parents[2] / "docs" / "images"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def shrink(path: Path) -> None:
    """Quantise to 64 colours (screenshots of flat UI lose nothing visible)."""
    try:
        from PIL import Image
    except ImportError:
        return
    with Image.open(path) as image:
        image.convert("RGB").quantize(64, dither=Image.Dither.NONE).save(path, optimize=True)


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        storage = SQLiteStorage(root / "experiments.db")
        builders.multi_trial(storage, root / "logs", name="nb201 random search", trials=120)
        run = builders.record_darts_run(
            storage, root / "darts", epochs=10, samples=1024, arc_learning_rate=0.1, batch_size=32
        )
        handle = serve_in_background(storage, 0)
        base = f"http://127.0.0.1:{handle.port}/"
        pages = {
            "experiments": "#/",
            "overview": "#/e/finished1",
            "trials": "#/e/finished1/trials",
            "trial": "#/e/finished1/trials/3",
            "choices": "#/e/finished1/choices",
            "oneshot": f"#/e/{run.experiment_id}/oneshot",
        }
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_page(viewport={"width": 1200, "height": 800})
            for name, fragment in pages.items():
                page.goto(base + fragment)
                page.wait_for_selector("body[data-ready='1']")
                if name == "trials":
                    boxes = page.locator("#trials-table tbody input[type='checkbox']")
                    for i in (0, 1, 3):
                        boxes.nth(i).check()
                    page.wait_for_selector("#overlay-chart[data-traces='3']")
                page.wait_for_timeout(800)
                path = OUT / f"dashboard-{name}.png"
                page.screenshot(path=str(path), full_page=True)
                shrink(path)
                page.evaluate("document.body.dataset.ready = ''")
                print(f"{path} {path.stat().st_size // 1024} KB")
            browser.close()
        handle.stop()
        storage.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
