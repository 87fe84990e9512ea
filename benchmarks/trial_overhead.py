"""Per-trial overhead of the inline and local execution backends.

N trials (200; --quick: 20) of an evaluator that returns at once run through each backend,
keeping every slot busy; the figure is the wall time from the first submit to the last result,
divided by N (worker start-up excluded: workers are started and warmed up first). Two
evaluators: one that answers without building the model (`evaluate_trial` overridden, the
pure backend cost) — the targeted figures — and one that builds the fixed model of a trivial
one-choice space with `archsearch.fix` first (reported, no target). Each job has a log
file and a time limit, as the experiment runner gives it. Baseline, same run: the
evaluator's `evaluate_trial` called directly in a loop, N times. Targets: inline ≤ 2 ms per
trial, local (2 worker processes) ≤ 20 ms per trial. Wall time (perf_counter): the local
backend's work happens in other processes.
"""

from __future__ import annotations

import functools
import os
import shutil
import statistics
import tempfile
import time
from typing import Any

import torch
from common import emit, parse_args, setup

import archsearch.nn as nn
from archsearch.evaluator import Evaluator, Metric, Reporter, TrialEvaluator, TrialInput
from archsearch.evaluator.run import build_model
from archsearch.execution import (
    Backend,
    InlineBackend,
    Job,
    LocalBackend,
    Ref,
    TrialResult,
)
from archsearch.execution.worker import CallbackReporter

BENCHMARK = "trial_overhead"
TARGET_MS = {"inline": 2.0, "local": 20.0}
CONCURRENCY = 2


class Trivial(nn.Module):
    """The smallest model space: one two-way LayerChoice of parameter-free layers."""

    def __init__(self) -> None:
        super().__init__()
        self.act = nn.LayerChoice({"relu": nn.ReLU(), "tanh": nn.Tanh()}, label="act")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x)  # type: ignore[no-any-return]


class Answer(TrialEvaluator):
    """Returns at once, from the architecture alone: never builds the model."""

    def evaluate_trial(self, trial: TrialInput) -> Metric:
        return 1.0 if trial.arch["act"] == "relu" else 0.0


class BuildThenAnswer(Evaluator):
    """Builds the fixed model (the default `evaluate_trial`), then returns at once."""

    def evaluate(self, model: torch.nn.Module, reporter: Reporter) -> Metric:
        return 1.0


def jobs(evaluator: TrialEvaluator, n: int, first_id: int, logs: str) -> list[Job]:
    """Jobs as a runner makes them: each with its log file and a time limit."""
    space, judge = Ref.of(Trivial, "model space"), Ref.of(evaluator, "evaluator")
    acts = ("relu", "tanh")
    return [
        Job(
            "bench",
            first_id + i,
            {"act": acts[i % 2]},
            space,
            judge,
            log_path=os.path.join(logs, f"trial_{first_id + i}.log"),
            max_duration=60.0,
        )
        for i in range(n)
    ]


def drive(backend: Backend, todo: list[Job]) -> float:
    """Seconds from the first submit to the last result, keeping every slot busy."""
    pending = list(todo)
    finished = 0
    start = time.perf_counter()
    while finished < len(todo):
        while pending and backend.free_slots() > 0:
            backend.submit(pending.pop())
        for event in backend.poll(1.0):
            if isinstance(event, TrialResult):
                if event.metric is None:
                    raise RuntimeError(f"trial {event.trial_id} failed: {event.traceback}")
                finished += 1
    return time.perf_counter() - start


def direct(evaluator: TrialEvaluator, n: int) -> float:
    """The baseline: the evaluator called in a loop, as a hand-written script would."""
    reporter = CallbackReporter(lambda step, metrics: None)
    space = Trivial
    start = time.perf_counter()
    for i in range(n):
        arch = {"act": "relu" if i % 2 == 0 else "tanh"}
        evaluator.evaluate_trial(
            TrialInput(arch, functools.partial(build_model, space, arch), reporter)
        )
    return time.perf_counter() - start


def measure(
    backend: Backend, evaluator: TrialEvaluator, n: int, rounds: int, logs: str
) -> tuple[float, float]:
    """Median seconds per trial (backend, direct), rounds alternating the two."""
    drive(backend, jobs(evaluator, max(4, n // 10), 0, logs))  # warm caches, imports
    ours: list[float] = []
    base: list[float] = []
    for r in range(rounds):
        ours.append(drive(backend, jobs(evaluator, n, (r + 1) * n, logs)) / n)
        base.append(direct(evaluator, n) / n)
    return statistics.median(ours), statistics.median(base)


def main() -> None:
    args = parse_args(__doc__ or BENCHMARK)
    setup()
    n, rounds = (20, 1) if args.quick else (200, 5)
    started = time.perf_counter()
    local = LocalBackend(CONCURRENCY)
    if not local.wait_ready(120):
        raise RuntimeError("local workers did not start")
    startup = time.perf_counter() - started
    backends: dict[str, Backend] = {"inline": InlineBackend(), "local": local}
    logs = tempfile.mkdtemp(prefix="archsearch_bench_")
    try:
        for evaluator, model in ((Answer(), "none"), (BuildThenAnswer(), "fix")):
            for name, backend in backends.items():
                ours, base = measure(backend, evaluator, n, rounds, logs)
                target: dict[str, Any] = {}
                if model == "none":
                    limit = TARGET_MS[name]
                    target = {"target": f"archsearch_ms <= {limit:g}", "pass": ours * 1e3 <= limit}
                emit(
                    BENCHMARK,
                    figure=f"{name}_{'build_model' if model == 'fix' else 'no_model'}",
                    backend=name,
                    concurrency=1 if name == "inline" else CONCURRENCY,
                    model=model,
                    trials=n,
                    **({"worker_startup_s": startup} if name == "local" else {}),
                    archsearch_ms=ours * 1e3,
                    baseline_ms=base * 1e3,
                    ratio=ours / base,
                    baseline="evaluator.evaluate_trial called in a loop",
                    clock="perf_counter",
                    **target,
                    rounds=rounds,
                    quick=args.quick,
                )
    finally:
        local.shutdown()
        shutil.rmtree(logs, ignore_errors=True)


if __name__ == "__main__":
    main()
