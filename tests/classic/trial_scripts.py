"""Pure-Python classic trial scripts (no torch import, so a trial starts in milliseconds).

They speak the classic protocol directly: read the parameters file named by
ARCHSEARCH_TRIAL_PARAMETERS, append JSON lines to the channel named by ARCHSEARCH_TRIAL_CHANNEL
(the format `archsearch.evaluator.reporter.ChannelReporter` writes).
"""

from __future__ import annotations

import contextlib
import os
import signal
import textwrap
from pathlib import Path

from archsearch.space import SearchSpace

SPACE_JSON = {
    "op": {"_type": "layer_choice", "_value": ["conv3", "conv5", "pool"]},
    "width": {"_type": "choice", "_value": [8, 16, 32]},
    "skip": {"_type": "input_choice", "_value": {"candidates": ["x", "y"], "n_chosen": 1}},
}
SPACE = SearchSpace.from_json(SPACE_JSON)

KIT = '''
import json, os, time

def params():
    with open(os.environ["ARCHSEARCH_TRIAL_PARAMETERS"]) as f:
        return json.load(f)

def report(kind, metrics, step=None):
    if not isinstance(metrics, dict):
        metrics = {"default": metrics}
    record = {"type": kind, "metrics": metrics, "time": time.time()}
    if step is not None:
        record["step"] = step
    with open(os.environ["ARCHSEARCH_TRIAL_CHANNEL"], "a") as f:
        f.write(json.dumps(record) + "\\n")

def score(p):
    """A deterministic metric of the architecture: pool < conv3 < conv5, wider is better."""
    op = {"conv3": 0.5, "conv5": 0.7, "pool": 0.1}[p["op"]["_value"]]
    return round(op + p["width"]["_idx"] * 0.1 + p["skip"]["_idx"][0] * 0.01, 4)
'''

SCRIPTS = {
    # Three intermediate reports, then the final score; SLEEP env slows it down.
    "score.py": """
        import json, os, sys, time
        from kit import params, report, score
        p = params()
        print("trial parameters:", json.dumps(p, sort_keys=True))
        print("a line on stderr", file=sys.stderr)
        s = score(p)
        for step in range(3):
            time.sleep(float(os.environ.get("SLEEP", "0")))
            report("intermediate", {"default": s * (step + 1) / 3, "loss": 1 - s}, step)
        report("final", s)
        """,
    "crash.py": """
        from kit import report
        report("intermediate", 0.1, 0)
        print("working on it")
        raise ValueError("boom: the trial script failed")
        """,
    # Ignores SIGTERM, starts a child, writes both pids, then hangs.
    "hang.py": """
        import os, signal, subprocess, sys, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        child = subprocess.Popen(["sleep", "120"])
        with open(sys.argv[1], "w") as f:
            f.write(f"{os.getpid()} {child.pid}")
        print("hanging", flush=True)
        time.sleep(120)
        """,
    "nan.py": """
        from kit import report
        report("intermediate", float("nan"), 0)
        report("final", float("nan"))
        """,
    "silent.py": """
        print("done, but no final report")
        """,
}


# A custom classic tuner (runs in the experiment's process, not in the trials).
TUNER = """
from archsearch.classic import NoMoreTrials, Tuner


class ListTuner(Tuner):
    \"\"\"Walks the options by index, `limit` trials in all, then has nothing left.\"\"\"

    def __init__(self, limit=4, optimize_mode="maximize"):
        self.limit = limit
        self.optimize_mode = optimize_mode
        self.space = None
        self.generated = []
        self.results = {}
        self.ended = {}

    def update_search_space(self, search_space):
        self.space = search_space

    def generate_parameters(self, parameter_id, **kwargs):
        n = len(self.generated)
        if n >= self.limit:
            raise NoMoreTrials
        self.generated.append(parameter_id)
        ops = self.space["op"]["_value"]
        return {"op": {"_idx": n % len(ops)}, "width": {"_idx": n % 3}, "skip": {"_idx": [n % 2]}}

    def receive_trial_result(self, parameter_id, parameters, value, **kwargs):
        self.results[parameter_id] = (parameters, value)

    def trial_end(self, parameter_id, success, **kwargs):
        self.ended[parameter_id] = success
"""


def write_scripts(folder: Path) -> Path:
    """Write the kit, every script and the custom tuner (`list_tuner.py`) into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kit.py").write_text(KIT, encoding="utf-8")
    (folder / "list_tuner.py").write_text(TUNER, encoding="utf-8")
    for name, source in SCRIPTS.items():
        (folder / name).write_text(textwrap.dedent(source), encoding="utf-8")
    return folder


def alive(pid: int) -> bool:
    """Whether `pid` is a live process (a zombie awaiting its reaper counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def kill_quietly(pid: int) -> None:
    """Clean-up for a failed test: never leave a process behind."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
