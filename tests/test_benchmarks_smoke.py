"""Every benchmark runs with --quick and prints well-formed JSON figures.

Only the output's shape is checked here; whether a figure meets its target is the benchmark's
business (timings on a shared test machine are not a test result).
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
SCRIPTS = sorted(
    p.name
    for p in BENCHMARKS.glob("*.py")
    if p.name not in {"common.py", "run_all.py"} and not p.name.startswith("_")
)


@functools.cache  # each script runs once per session, however many tests read it
def run_quick(script: str) -> list[dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines, f"{script} printed nothing"
    return [json.loads(line) for line in lines]


def check_figure(figure: dict[str, Any], benchmark: str) -> None:
    assert figure["benchmark"] == benchmark
    assert isinstance(figure["figure"], str) and figure["figure"]
    assert figure["quick"] is True
    if "target" in figure:
        assert isinstance(figure["target"], str)
        assert isinstance(figure["pass"], bool)
    if "archsearch_ms" in figure:
        for key in ("archsearch_ms", "baseline_ms", "ratio"):
            assert isinstance(figure[key], (int, float)) and figure[key] > 0, key


def test_benchmarks_are_found() -> None:
    assert {"fixed_forward.py", "space_scaling.py"} <= set(SCRIPTS)


@pytest.mark.parametrize("script", SCRIPTS)
def test_quick_run_prints_json_figures(script: str) -> None:
    figures = run_quick(script)
    benchmark = script.removesuffix(".py")
    for figure in figures:
        check_figure(figure, benchmark)
    assert len({f["figure"] for f in figures}) == len(figures), "figure names repeat"


def test_fixed_forward_compares_equal_models() -> None:
    (figure,) = run_quick("fixed_forward.py")
    assert figure["same_output"] is True
    assert figure["archsearch_modules_in_fixed"] == 0
    assert figure["target"] == "ratio <= 1.02"


def test_space_scaling_reports_each_size_and_growth() -> None:
    figures = {f["figure"]: f for f in run_quick("space_scaling.py")}
    for name in ("search_space", "fix"):
        for n in (10, 100, 1000):
            assert figures[f"{name}_{n}_choices"]["choices"] == n
        assert "target" in figures[f"{name}_1000_choices"]
        assert "ratio" in figures[f"{name}_growth"]


def test_run_all_passes_quick_through() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "run_all.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    figures = [json.loads(line) for line in done.stdout.splitlines()]
    assert {f["benchmark"] for f in figures} == {s.removesuffix(".py") for s in SCRIPTS}
    assert all(f["quick"] is True for f in figures)
