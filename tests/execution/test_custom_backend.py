"""examples/custom_backend.py, the backend a newcomer copies: one table row makes an experiment
run on it (the contract suite runs over it too, through the `backend` fixture)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_the_example_backend_runs_an_experiment(tmp_path: Path) -> None:
    env = {**os.environ, "ARCHSEARCH_HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "custom_backend.py"],
        cwd=EXAMPLES,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [line for line in done.stdout.splitlines() if "succeeded: accuracy:" in line]
    assert len(lines) == 2, done.stdout
