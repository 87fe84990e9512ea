"""`python -m archsearch` is the `archsearch` command."""

from __future__ import annotations

import subprocess
import sys

import archsearch


def test_python_dash_m_runs_the_command_line() -> None:
    command = [sys.executable, "-m", "archsearch"]
    result = subprocess.run([*command, "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"archsearch {archsearch.__version__}"
    listed = subprocess.run([*command, "--help"], capture_output=True, text=True, timeout=60)
    for name in ("ss-gen", "run", "list", "resume", "stop", "export", "view"):
        assert f"    {name} " in listed.stdout, name
