"""Per-trial overhead of the inline, local and Ray execution backends.

Two parts. The realistic case (issue 9), through the whole experiment loop (`Runner`: the
strategy's ask, storage add/start/finish, submit, poll, tell, the progress bar): a model space
that builds and fixes a small CNN per trial (a ValueChoice width, a LayerChoice stem and four
LayerChoice blocks; ~7 ms of work here) and a `FunctionalEvaluator` that returns at once. Its
figure is the overhead per trial = experiment wall time per trial − the same work (build + fix of
the same architectures, the function called) in a plain in-process loop, median over rounds; the
in-run baseline for the local backend (2 workers) is a plain `multiprocessing` spawn `Pool(2)`
mapping the same work (`pool_overhead_ms`). Workers are started and warmed before timing. Targets:
inline ≤ 1 ms, local ≤ 10 ms per trial above the work.

The backend alone:
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

Ray (execution="ray", a local Ray with 2 slots; `_ray_overhead.py`): the same backend-alone
figure (≤ 10 ms per trial), start-up with 2 workers importing torch (≤ 30 s), and the time
from a worker's SIGKILL or a cancel to the trial's result (≤ 2 s, ≤ 1 s).
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from _ray_overhead import emit_ray_rows
from common import emit, parse_args, setup

import archsearch.nn as nn
from archsearch.evaluator import (
    Evaluator,
    FunctionalEvaluator,
    Metric,
    Reporter,
    TrialEvaluator,
    TrialInput,
)
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
from archsearch.experiment import ExperimentConfig
from archsearch.experiment.runner import Runner, RunPlan
from archsearch.space import Architecture, SearchSpace, Trial, TrialStatus
from archsearch.storage import ExperimentRecord, SQLiteStorage
from archsearch.strategy import Random

BENCHMARK = "trial_overhead"
TARGET_MS = {"inline": 2.0, "local": 20.0}
CNN_TARGET_MS = {"inline": 1.0, "local": 10.0}
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


class SmallCNN(nn.Module):
    """The realistic model space: 2 stems × 3 widths × 5⁴ block choices (3,750 architectures)."""

    def __init__(self) -> None:
        super().__init__()
        width = nn.ValueChoice([16, 32, 48], label="width")
        self.stem = nn.LayerChoice(
            [nn.Conv2d(3, width, k, padding=k // 2) for k in (3, 5)], label="stem"
        )
        self.blocks = nn.ModuleList(
            nn.LayerChoice(
                {
                    "conv3": nn.Conv2d(width, width, 3, padding=1),
                    "conv5": nn.Conv2d(width, width, 5, padding=2),
                    "conv_bn": nn.Sequential(
                        nn.Conv2d(width, width, 3, padding=1), nn.BatchNorm2d(width)
                    ),
                    "pool": nn.MaxPool2d(3, 1, 1),
                    "skip": nn.Identity(),
                },
                label=f"block{i}",
            )
            for i in range(4)
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(width, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for block in self.blocks:
            x = torch.relu(block(x))
        return self.head(self.pool(x).flatten(1))  # type: ignore[no-any-return]


def answer(model: torch.nn.Module) -> float:
    """The user's evaluation function: returns at once (the model is built by then)."""
    return 1.0


def cnn_work(arch: Architecture) -> float:
    """One trial's own work, as a plain script does it: build, fix, evaluate."""
    return answer(nn.fix(SmallCNN(), arch))


def loop(archs: list[Architecture]) -> None:
    """The same work as an experiment's trials, in a plain loop."""
    for arch in archs:
        cnn_work(arch)


def mapped(pool: Any, archs: list[Architecture]) -> None:
    """The same work in a Pool, one task per trial (chunksize 1, as trials are sent)."""
    pool.map(cnn_work, archs, chunksize=1)


def _one_thread() -> None:
    torch.set_num_threads(1)  # as the local backend's workers: the cores are shared


def proposals(space: SearchSpace, n: int, seed: int) -> list[Architecture]:
    """The architectures an experiment with `Random(seed=seed)` runs, in order."""
    strategy = Random(seed=seed)
    strategy.start(space, "maximize")
    history: list[Trial] = []
    for i in range(1, n + 1):
        arch = space.validate(strategy.ask(space, history) or {})
        history.append(Trial("plain", i, arch, TrialStatus.SUCCEEDED, 1.0))
    return [t.arch for t in history]


def per_trial(run: Callable[[], Any], n: int) -> tuple[float, float]:
    """Seconds per trial of `run()` (n trials): wall time, and CPU time of this thread."""
    wall, cpu = time.perf_counter(), time.thread_time()
    run()
    return (time.perf_counter() - wall) / n, (time.thread_time() - cpu) / n


def experiment(backend: Backend, n: int, seed: int, folder: str) -> tuple[float, float]:
    """`per_trial` of an n-trial experiment through the runner (workers warmed first)."""
    inline = isinstance(backend, InlineBackend)
    config = ExperimentConfig(
        "inline" if inline else "local",
        max_trial_number=n,
        trial_concurrency=1 if inline else CONCURRENCY,
    )
    space = nn.search_space(SmallCNN())
    name = f"{'inline' if inline else 'local'}{seed}"
    storage = SQLiteStorage(os.path.join(folder, f"{name}.db"))
    record = ExperimentRecord(name, name, config=config.to_json(), search_space=space.to_json())
    storage.create_experiment(record)
    evaluator = FunctionalEvaluator(answer)
    refs = [
        Ref.live(obj) if inline else Ref.of(obj, what, for_process=True)
        for obj, what in ((SmallCNN, "model space"), (evaluator, "evaluator"))
    ]
    if not inline:  # workers import the script and unpickle the evaluator before timing
        warm = [Job("warm", i, space.default(), *refs) for i in range(2 * CONCURRENCY)]
        drive(backend, warm)
    log_dir = Path(folder) / name / "trials"
    plan = RunPlan(name, space, config, refs[0], refs[1], log_dir)
    timing = per_trial(Runner(plan, storage, Random(seed=seed), backend).run, n)
    trials = storage.trials(name)
    storage.close()
    if len(trials) != n or any(t.metric != 1.0 for t in trials):
        raise RuntimeError(f"{name}: a trial failed: {[t.error for t in trials if t.error]}")
    return timing


def measure_cnn(n: int, rounds: int, folder: str) -> dict[str, list[tuple[float, float]]]:
    """`per_trial` of each way, per round (the order rotates from round to round)."""
    space = nn.search_space(SmallCNN())
    ways = ("loop", "inline", "local", "pool")
    times: dict[str, list[tuple[float, float]]] = {way: [] for way in ways}
    with multiprocessing.get_context("spawn").Pool(CONCURRENCY, initializer=_one_thread) as pool:
        pool.map(cnn_work, [space.default()] * 2 * CONCURRENCY, chunksize=1)  # warm
        for r in range(rounds):
            archs = proposals(space, n, seed=r)
            cnn_work(archs[0])  # warm caches for the loop
            local = LocalBackend(CONCURRENCY)
            if not local.wait_ready(120):
                raise RuntimeError("local workers did not start")
            runs: dict[str, Callable[[], tuple[float, float]]] = {
                "loop": functools.partial(per_trial, functools.partial(loop, archs), n),
                "inline": functools.partial(experiment, InlineBackend(), n, r, folder),
                "local": functools.partial(experiment, local, n, r, folder),
                "pool": functools.partial(per_trial, functools.partial(mapped, pool, archs), n),
            }
            for way in ways[r % 4 :] + ways[: r % 4]:
                times[way].append(runs[way]())
    return times


def cnn_figures(cnn: dict[str, list[tuple[float, float]]], name: str) -> dict[str, Any]:
    """Milliseconds per trial and the overhead above the plain loop (medians of the per-round
    differences); inline's target is on CPU time (this thread: waiting for a core on a shared
    machine does not count), local's on wall time against a Pool(2) of the same run."""

    def ms(way: str, clock: int) -> float:
        return statistics.median(t[clock] for t in cnn[way]) * 1e3

    def over(way: str, clock: int) -> float:
        pairs = zip(cnn[way], cnn["loop"], strict=True)
        return statistics.median(t[clock] - b[clock] for t, b in pairs) * 1e3

    figures: dict[str, Any] = {
        "archsearch_ms": ms(name, 0),
        "baseline_ms": ms("loop", 0),
        "ratio": ms(name, 0) / ms("loop", 0),
        "overhead_ms": over(name, 0),
    }
    limit = CNN_TARGET_MS[name]
    if name == "inline":
        figures["overhead_cpu_ms"] = over(name, 1)
        figures["target"] = f"overhead_cpu_ms <= {limit:g}"
        figures["pass"] = figures["overhead_cpu_ms"] <= limit
    else:
        figures["pool_ms"] = ms("pool", 0)
        figures["pool_overhead_ms"] = over("pool", 0)
        figures["pool"] = "multiprocessing spawn Pool(2).map, chunksize 1, same work"
        figures["target"] = f"overhead_ms <= {limit:g}"
        figures["pass"] = figures["overhead_ms"] <= limit
    return figures


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
    cnn_trials, cnn_rounds = (10, 1) if args.quick else (100, 5)
    logs = tempfile.mkdtemp(prefix="archsearch_bench_")
    try:
        cnn = measure_cnn(cnn_trials, cnn_rounds, logs)
    finally:
        shutil.rmtree(logs, ignore_errors=True)
    for name in ("inline", "local"):
        emit(
            BENCHMARK,
            figure=f"{name}_cnn_experiment",
            backend=name,
            concurrency=1 if name == "inline" else CONCURRENCY,
            model="SmallCNN built and fixed per trial",
            trials=cnn_trials,
            **cnn_figures(cnn, name),
            baseline="the same build + fix + evaluation in a plain in-process loop",
            clock="perf_counter" if name == "local" else "perf_counter, thread_time",
            rounds=cnn_rounds,
            quick=args.quick,
        )
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
        local.shutdown()
        timing = functools.partial(measure, evaluator=Answer(), n=n, rounds=rounds, logs=logs)
        common = {"concurrency": CONCURRENCY, "trials": n, "rounds": rounds, "quick": args.quick}
        emit_ray_rows(BENCHMARK, timing, Ref.of(Trivial, "model space"), logs, **common)
    finally:
        local.shutdown()
        shutil.rmtree(logs, ignore_errors=True)


if __name__ == "__main__":
    main()
