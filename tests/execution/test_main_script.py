"""A user's script: classes and functions defined in its `__main__` reach the workers, and a
script that exits without shutting the backend down leaves no worker behind."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from backend_jobs import gone

SCRIPT = textwrap.dedent(
    """
    import json, os, sys, time

    import torch

    import archsearch.nn as nn
    from archsearch.evaluator import Evaluator
    from archsearch.execution import Job, LocalBackend, Ref, TrialResult


    class Space(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, nn.ValueChoice([3, 5], label="width"))

        def forward(self, x):
            return self.fc(x)


    def width_of(model):
        return model(torch.zeros(1, 2)).shape[1]


    class CallFunction(Evaluator):
        def __init__(self, fn):
            self.fn = fn

        def evaluate(self, model, reporter):
            return self.fn(model)


    def nap(model):
        time.sleep(60)


    def finish(backend):
        while True:
            for event in backend.poll(1.0):
                if isinstance(event, TrialResult):
                    return event


    if __name__ == "__main__":
        backend = LocalBackend(1, start_method=sys.argv[1])
        evaluator = Ref.of(CallFunction(width_of), "evaluator")
        space = Ref.of(Space, "model space")
        backend.submit(Job("script", 1, {"width": 5}, space, evaluator))
        result = finish(backend)
        print(json.dumps({"status": result.status.value, "metric": result.metric,
                          "error": result.error, "space": space.target,
                          "pickled": evaluator.pickled is not None,
                          "workers": backend.worker_pids()}), flush=True)
        if "--hang" in sys.argv:
            backend.submit(Job("script", 2, {"width": 3}, space,
                               Ref.of(CallFunction(nap), "evaluator")))
            time.sleep(600)
        if "--leave-running" in sys.argv:
            backend.submit(Job("script", 2, {"width": 3}, space,
                               Ref.of(CallFunction(nap), "evaluator")))
            time.sleep(0.5)  # the trial is running; exit without shutdown()
        else:
            backend.shutdown()
    """
)


def run_script(tmp_path: Path, *args: str) -> dict[str, object]:
    script = tmp_path / "user_search.py"
    script.write_text(SCRIPT)
    done = subprocess.run(
        [sys.executable, str(script), *(args or ("spawn",))],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


@pytest.mark.parametrize("start_method", ["spawn", "forkserver"])
def test_main_module_objects_run_in_workers(tmp_path: Path, start_method: str) -> None:
    report = run_script(tmp_path, start_method)
    assert report["space"] == "__main__:Space"  # by import reference, not pickle
    assert report["pickled"] is True  # the evaluator instance holds a __main__ function
    assert report["error"] is None
    assert report["status"] == "succeeded" and report["metric"] == 5.0


def test_exit_without_shutdown_leaves_no_worker(tmp_path: Path) -> None:
    started = time.monotonic()
    report = run_script(tmp_path, "spawn", "--leave-running")
    assert time.monotonic() - started < 60  # the sleeping trial did not hold the exit up
    assert report["status"] == "succeeded"
    workers = report["workers"]
    assert isinstance(workers, list) and workers
    assert all(gone(pid, timeout=5.0) for pid in workers)


def test_killed_runner_takes_its_workers_down(tmp_path: Path) -> None:
    script = tmp_path / "user_search.py"
    script.write_text(SCRIPT)
    runner = subprocess.Popen(
        [sys.executable, str(script), "spawn", "--hang"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        assert runner.stdout is not None
        report = json.loads(runner.stdout.readline())
        time.sleep(0.5)  # the second trial is running in the worker
        workers = report["workers"]
        assert all(not gone(pid, timeout=0.1) for pid in workers)
    finally:
        runner.kill()  # SIGKILL: no shutdown, no atexit
        runner.wait()
    assert all(gone(pid, timeout=10.0) for pid in workers)
