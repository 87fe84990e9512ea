"""Every numbered example runs end to end in its fast mode, as a user would run it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
NUMBERED = sorted(EXAMPLES.glob("[0-9][0-9]_*.py"))


def test_examples_are_numbered_and_present() -> None:
    assert len(NUMBERED) >= 2
    numbers = [p.name[:2] for p in NUMBERED]
    assert numbers == sorted(set(numbers)), "example numbers must be unique"


@pytest.mark.parametrize("script", NUMBERED, ids=[p.stem for p in NUMBERED])
def test_example_runs_fast(script: Path) -> None:
    result = subprocess.run(
        [sys.executable, script.name, "--fast"],
        cwd=EXAMPLES,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    accuracies = [s for s in result.stdout.splitlines() if "% test" in s or "accuracy:" in s]
    assert accuracies, result.stdout[-2000:]
    if script.name.startswith("01_"):  # the README demo
        assert "architectures" in result.stdout  # the last line of the space table
        assert "reloaded with apply_fixed_architecture: True" in result.stdout
