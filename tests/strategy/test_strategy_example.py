"""examples/custom_strategy.py, the copyable new strategy, runs end to end."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_custom_strategy_example_runs() -> None:
    result = subprocess.run(
        [sys.executable, "custom_strategy.py"],
        cwd=EXAMPLES,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "test accuracy:" in result.stdout, result.stdout[-2000:]
