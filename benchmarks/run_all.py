"""Run every benchmark script in this folder and print their JSON lines.

    python benchmarks/run_all.py [--quick]

Each script runs in its own interpreter, one after another (never in parallel: they would time
each other). Their JSON lines go to stdout unchanged; a summary goes to stderr. The exit status is
1 when a script fails or prints a line that is not JSON, and 0 otherwise — a missed target is a
figure to read ("pass": false), not a failure of the run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
NOT_BENCHMARKS = {"common.py", "run_all.py"}


def scripts() -> list[Path]:
    """The benchmark scripts, in name order."""
    return sorted(
        p for p in HERE.glob("*.py") if p.name not in NOT_BENCHMARKS and not p.name.startswith("_")
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="pass --quick to every benchmark")
    args = parser.parse_args()
    failed: list[str] = []
    figures = missed = 0
    for script in scripts():
        command = [sys.executable, str(script), *(["--quick"] if args.quick else [])]
        run = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False)
        for line in run.stdout.splitlines():
            print(line, flush=True)
            try:
                figure = json.loads(line)
            except json.JSONDecodeError:
                failed.append(f"{script.name} (not JSON: {line[:60]!r})")
                continue
            figures += 1
            missed += figure.get("pass") is False
        if run.returncode != 0:
            failed.append(f"{script.name} (exit status {run.returncode})")
    print(
        f"{len(scripts())} benchmarks, {figures} figures, {missed} missed their target"
        + (f"; failed: {', '.join(failed)}" if failed else ""),
        file=sys.stderr,
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
