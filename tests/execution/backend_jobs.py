"""Model spaces and evaluators for the backend tests, importable by worker processes.

Module level on purpose: a worker finds them by import (`backend_jobs:Tiny`), the way it finds
a user's classes. Each evaluator does one thing a real trial may do.
"""

from __future__ import annotations

import ctypes
import math
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch

import archsearch.nn as nn
from archsearch.evaluator import Evaluator, Metric, Reporter, report_intermediate_result
from archsearch.execution import Backend, Event, Job, Ref, TrialResult


class Tiny(nn.Module):
    """A two-way choice of activation: the smallest real model space."""

    def __init__(self) -> None:
        super().__init__()
        self.act = nn.LayerChoice({"relu": nn.ReLU(), "tanh": nn.Tanh()}, label="act")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x)  # type: ignore[no-any-return]


@dataclass
class Forward(Evaluator):
    """Runs the fixed model on [-1, 1] and returns the sum of its outputs (relu 1, tanh 0)."""

    def evaluate(self, model: torch.nn.Module, reporter: Reporter) -> Metric:
        return float(model(torch.tensor([-1.0, 1.0])).sum())


@dataclass
class Instant(Evaluator):
    """Returns at once without building the model (the overhead benchmark's evaluator)."""

    def evaluate(self, model: torch.nn.Module, reporter: Reporter) -> Metric:
        return 1.0


@dataclass
class Steps(Evaluator):
    """Reports `n` intermediate metrics (half through the NNI function), returns a dict."""

    n: int = 5

    def evaluate(self, model: torch.nn.Module, reporter: Reporter) -> Metric:
        for step in range(self.n):
            if step % 2:
                report_intermediate_result({"default": step / 10, "loss": 1.0 - step / 10})
            else:
                reporter.report(step, step / 10)
        return {"default": 0.9, "loss": 0.1}


@dataclass
class Raise(Evaluator):
    def evaluate(self, model: torch.nn.Module, reporter: Reporter) -> Metric:
        raise ValueError("evaluator exploded on purpose")


@dataclass
class NaN(Evaluator):
    def evaluate(self, model: torch.nn.Module, reporter: Reporter) -> Metric:
        return math.nan


@dataclass
class Sleep(Evaluator):
    """Prints a line, then sleeps (past a short max_duration)."""

    seconds: float = 60.0

    def evaluate(self, model: torch.nn.Module, reporter: Reporter) -> Metric:
        print("going to sleep", flush=True)
        time.sleep(self.seconds)
        return 1.0


@dataclass
class Spin(Evaluator):
    """A hang that no Python-level exception can reach quickly: a C-level busy wait."""

    def evaluate(self, model: torch.nn.Module, reporter: Reporter) -> Metric:
        while True:
            sum(range(10**6))


@dataclass
class Say(Evaluator):
    """Writes `text` through print (stdout and stderr), and — with `low_level` — through fd 1
    directly and from a child process, as C libraries and launched tools do."""

    text: str
    low_level: bool = False

    def evaluate(self, model: torch.nn.Module, reporter: Reporter) -> Metric:
        print(f"{self.text} stdout")
        print(f"{self.text} stderr", file=sys.stderr)
        if self.low_level:
            sys.stdout.flush()
            os.write(1, f"{self.text} fd1\n".encode())
            subprocess.run([sys.executable, "-c", f"print('{self.text} child')"], check=True)
        return 1.0


@dataclass
class Crash(Evaluator):
    """Ends the worker process abruptly: "segfault", "signal" (SIGSEGV to itself), or
    "exit" (os._exit(3))."""

    how: str

    def evaluate(self, model: torch.nn.Module, reporter: Reporter) -> Metric:
        print(f"about to crash: {self.how}", flush=True)
        if self.how == "segfault":
            ctypes.string_at(0)
        elif self.how == "signal":
            os.kill(os.getpid(), signal.SIGSEGV)
        elif self.how == "exit":
            os._exit(3)
        time.sleep(5)
        return 1.0


@dataclass
class SysExit(Evaluator):
    def evaluate(self, model: torch.nn.Module, reporter: Reporter) -> Metric:
        sys.exit(4)


@dataclass
class Grandchild(Evaluator):
    """Starts a long child process, writes its pid to `pid_file`, then sleeps."""

    pid_file: str

    def evaluate(self, model: torch.nn.Module, reporter: Reporter) -> Metric:
        child = subprocess.Popen(["sleep", "60"])
        with open(self.pid_file, "w") as f:
            f.write(str(child.pid))
        time.sleep(60)
        return 1.0


@dataclass
class WhoAmI(Evaluator):
    """Returns its process id, the identity of the torch module it sees, and its GPU env."""

    def evaluate(self, model: torch.nn.Module, reporter: Reporter) -> Metric:
        return {
            "default": float(os.getpid()),
            "torch_id": str(id(sys.modules["torch"])),
            "cuda_visible": os.environ.get("CUDA_VISIBLE_DEVICES", "<unset>"),
        }


def job(
    trial_id: int,
    evaluator: Evaluator,
    *,
    act: str = "relu",
    log_path: str | None = None,
    max_duration: float | None = None,
) -> Job:
    """A job of the Tiny space with `evaluator`, both as transferable references."""
    return Job(
        experiment_id="test",
        trial_id=trial_id,
        arch={"act": act},
        model_space=Ref.of(Tiny, "model space"),
        evaluator=Ref.of(evaluator, "evaluator"),
        log_path=log_path,
        max_duration=max_duration,
    )


def run_all(backend: Backend, jobs: list[Job], timeout: float = 60.0) -> list[Event]:
    """Submit `jobs` as slots free up and poll until each has its result; every event, in
    the order `poll` gave them. Fails if a trial gets two results or time runs out."""
    pending = list(jobs)
    events: list[Event] = []
    finished: set[int] = set()
    end = time.monotonic() + timeout
    while pending or len(finished) < len(jobs):
        while pending and backend.free_slots() > 0:
            backend.submit(pending.pop(0))
        for event in backend.poll(0.5):
            events.append(event)
            if isinstance(event, TrialResult):
                assert event.trial_id not in finished, f"two results for trial {event.trial_id}"
                finished.add(event.trial_id)
        assert time.monotonic() < end, f"no result within {timeout} s; got {events}"
    return events


def results(events: list[Event]) -> dict[int, TrialResult]:
    """The results among `events`, by trial id."""
    return {e.trial_id: e for e in events if isinstance(e, TrialResult)}


def grandchild_pid(path: str) -> int:
    """The pid that `Grandchild` wrote to `path`, once it is there."""
    for _ in range(200):
        text = Path(path).read_text() if os.path.exists(path) else ""
        if text.strip():
            return int(text)
        time.sleep(0.05)
    raise AssertionError(f"no pid in {path}")


def gone(pid: int, timeout: float = 10.0) -> bool:
    """Whether process `pid` has exited (absent from /proc, or a zombie) within `timeout` s."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                state = stat.read().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.05)
    return False
