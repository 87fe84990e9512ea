"""Objects of an interactive session (`__main__` without a file: a notebook, `python -c`)
cannot reach a worker process: refused up front with a clear error, not by every trial."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

SESSION = """
import sys
sys.path.insert(0, {here!r})
from dataclasses import dataclass
from backend_jobs import Forward, Tiny
from archsearch.execution.refs import NotTransferableError, Ref

def score(model):
    return 1.0

@dataclass
class Scorer:
    scale: float = 1.0

def refused(obj):
    try:
        Ref.of(obj, "evaluator", for_process=True)
    except NotTransferableError as exc:
        return "interactive session" in str(exc)
    return False

# Defined here: the function itself, an instance of a class defined here, an object holding
# a function defined here (a pickle naming __main__).
assert refused(score) and refused(Scorer()) and refused({{"fn": score, "n": 3}})
# From a module: fine for a process; and anything is fine for threads (same process).
assert not refused(Tiny) and not refused(Forward()) and not refused({{"__main__": 1}})
assert Ref.of(score, "evaluator").load() is score
print("ok")
"""


def test_objects_of_an_interactive_session_are_refused_for_worker_processes() -> None:
    here = str(Path(__file__).resolve().parent)
    code = textwrap.dedent(SESSION.format(here=here))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
