"""Experiments written through the Storage API, exactly as the multi-trial runner writes them.

Deterministic (seeded), with every trial status, intermediate metrics, log files and a failed
trial's traceback, over a NAS-Bench-201-style cell (edge labels "1<-0" ... "3<-2") plus a width.
"""

from __future__ import annotations

import os
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.nn import functional as F
from torch.utils.data import Subset

import archsearch.nn as nn
from archsearch.evaluator import load_digits
from archsearch.experiment.oneshot_record import RecordToStorage
from archsearch.oneshot import DartsTrainer, accuracy
from archsearch.space import LayerChoiceDim, SearchSpace, TrialStatus, ValueChoiceDim
from archsearch.storage import (
    ExperimentRecord,
    ExperimentStatus,
    MetricPoint,
    SQLiteStorage,
    Storage,
)

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
EDGES = ("1<-0", "2<-0", "2<-1", "3<-0", "3<-1", "3<-2")
OP_QUALITY = {
    "none": -4.0,
    "skip_connect": -1.0,
    "nor_conv_1x1": 1.0,
    "nor_conv_3x3": 2.5,
    "avg_pool_3x3": 0.0,
}
TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "train.py", line 3, in <module>\n'
    "RuntimeError: CUDA out of memory (simulated)\n"
)
XSS = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">'
NODES = ("gpu-node-1", "gpu-node-2", "gpu-node-3")
"""The machines the trials of `finished` ran on (a trial's node: `NODES[id % 3]`)."""


def nb201_space(extra_width: bool = True) -> SearchSpace:
    """Six NAS-Bench-201 edges with five ops each, and optionally a value choice `width`."""
    dims: list[Any] = [LayerChoiceDim(edge, OPS) for edge in EDGES]
    if extra_width:
        dims.append(ValueChoiceDim("width", (16, 32, 64)))
    return SearchSpace(dims)


def config(name: str, max_trials: int, mode: str = "maximize") -> dict[str, Any]:
    """An experiment config as the runner stores it."""
    return {
        "experiment_name": name,
        "trial_concurrency": 2,
        "max_trial_number": max_trials,
        "max_duration": 3600.0,
        "max_trial_duration": None,
        "execution": "local",
        "storage": None,
        "optimize_mode": mode,
        "trial_gpu_number": 0,
    }


def accuracy_of(arch: dict[str, Any], rng: random.Random) -> float:
    """A plausible accuracy: better ops and a larger width help, plus noise."""
    quality = sum(OP_QUALITY[arch[e]] for e in EDGES) + {16: 0, 32: 1, 64: 1.5}[arch["width"]]
    return round(min(0.99, max(0.05, 0.6 + 0.02 * quality + rng.gauss(0, 0.02))), 6)


def multi_trial(
    storage: Storage,
    log_dir: Path,
    *,
    experiment_id: str = "finished1",
    name: str = "nb201 random search",
    trials: int = 40,
    running: bool = False,
    seed: int = 0,
) -> ExperimentRecord:
    """A finished (or, with `running`, still running) multi-trial experiment with `trials`
    trials: most succeed with 4 intermediate points each, trial 3 fails with a traceback,
    trial 5 times out and the last one is cancelled (or running/waiting when `running`)."""
    rng = random.Random(seed)
    space = nb201_space()
    start = time.time() - 1
    storage.create_experiment(
        ExperimentRecord(
            id=experiment_id,
            name=name,
            config=config(name, trials + 10),
            search_space=space.to_json(),
            created_at=start,
        )
    )
    # The runner is this process: a "running" experiment whose process is gone shows as
    # interrupted.
    storage.update_experiment(
        experiment_id, status=ExperimentStatus.RUNNING, started_at=start, pid=os.getpid()
    )
    log_dir.mkdir(parents=True, exist_ok=True)
    for n in range(1, trials + 1):
        arch = space.sample(rng)
        trial = storage.add_trial(experiment_id, arch)
        if running and n == trials:
            break  # the last trial waits
        log = log_dir / f"{experiment_id}-trial-{trial.id}.log"
        log.write_text(
            "".join(f"trial {trial.id} epoch {e}: loss {1 / (e + 1):.3f}\n" for e in range(30)),
            encoding="utf-8",
        )
        node = NODES[n % len(NODES)]
        started = storage.start_trial(experiment_id, trial.id, str(log), node).started_at
        assert started is not None
        ended = started + round(rng.uniform(5, 60), 3)  # a plausible training time
        final = accuracy_of(arch, rng)
        points = [
            MetricPoint(
                trial.id,
                step,
                {"default": round(final * (step + 1) / 4, 6), "loss": round(2.0 / (step + 1), 6)},
                started + step,
            )
            for step in range(4)
        ]
        if n == 3:
            storage.report_metrics(experiment_id, points[:2])
            storage.finish_trial(
                experiment_id,
                trial.id,
                TrialStatus.FAILED,
                error="RuntimeError: CUDA out of memory (simulated)",
                traceback=TRACEBACK,
                ended_at=ended,
            )
            continue
        if running and n == trials - 1:
            storage.report_metrics(experiment_id, points[:2])
            continue  # still running
        storage.report_metrics(experiment_id, points)
        if n == 5:
            storage.finish_trial(
                experiment_id,
                trial.id,
                TrialStatus.TIMEOUT,
                error="ran past max_trial_duration",
                ended_at=ended,
            )
        elif n == trials:
            storage.finish_trial(
                experiment_id,
                trial.id,
                TrialStatus.CANCELLED,
                error="the experiment ended",
                ended_at=ended,
            )
        else:
            storage.finish_trial(
                experiment_id,
                trial.id,
                TrialStatus.SUCCEEDED,
                metric=final,
                metrics={"default": final, "loss": round(1 - final, 6)},
                ended_at=ended,
            )
    if not running:
        storage.update_experiment(
            experiment_id, status=ExperimentStatus.DONE, ended_at=time.time() + 60, pid=None
        )
    return storage.experiment(experiment_id)


def hostile(storage: Storage, log_dir: Path, experiment_id: str = "xss1") -> ExperimentRecord:
    """An experiment whose name, labels, candidate names, metric names and log all carry HTML
    that would run script if it were ever parsed as markup."""
    label = f"op{XSS}"
    space = SearchSpace(
        [LayerChoiceDim(label, (f"conv{XSS}", "pool")), ValueChoiceDim("k", (3, XSS))]
    )
    storage.create_experiment(
        ExperimentRecord(
            id=experiment_id,
            name=f"name{XSS}",
            config={**config(f"name{XSS}", 4), "note": XSS},
            search_space=space.to_json(),
            created_at=time.time() - 100,
        )
    )
    storage.update_experiment(
        experiment_id, status=ExperimentStatus.RUNNING, started_at=time.time() - 90
    )
    log = log_dir / "hostile.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(f"starting\n{XSS}\n</pre><script>window.__xss = 3</script>\n", encoding="utf-8")
    for i, arch in enumerate(({label: f"conv{XSS}", "k": XSS}, {label: "pool", "k": 3})):
        trial = storage.add_trial(experiment_id, arch)
        storage.start_trial(experiment_id, trial.id, log_path=str(log), node=f"host{XSS}")
        metric_name = f"acc{XSS}"
        storage.report_metrics(
            experiment_id,
            [
                MetricPoint(
                    trial.id, s, {metric_name: 0.1 * s + i, "default": 0.1 * s}, time.time()
                )
                for s in range(3)
            ],
        )
        storage.finish_trial(
            experiment_id,
            trial.id,
            TrialStatus.SUCCEEDED if i == 0 else TrialStatus.FAILED,
            metric=0.5 if i == 0 else None,
            metrics={"default": 0.5, metric_name: 0.7} if i == 0 else {},
            error=None if i == 0 else f"ValueError: {XSS}",
            traceback=None if i == 0 else f"Traceback:\n{XSS}\n",
        )
    storage.update_experiment(experiment_id, status=ExperimentStatus.DONE, ended_at=time.time())
    return storage.experiment(experiment_id)


ONESHOT_EPOCHS = 3


class DigitsCellNet(nn.Module):
    """Digits through a two-node DARTS-style Cell (labels `cell/op_i_j`, `cell/input_i_j`)."""

    def __init__(self, width: int = 8) -> None:
        super().__init__()
        self.stem = nn.Conv2d(1, width, 3, padding=1)
        self.cell = nn.Cell(
            {
                "conv3": nn.Conv2d(width, width, 3, padding=1),
                "pool": nn.MaxPool2d(3, stride=1, padding=1),
                "skip": nn.Identity(),
            },
            num_nodes=2,
            num_predecessors=1,
            merge_op="all",
            label="cell",
        )
        self.head = nn.Linear(2 * width * 64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.stem(x))
        return self.head(self.cell(x).flatten(1))  # 8×8 maps kept: digits need position


@dataclass(frozen=True)
class OneShotRun:
    """The recorded DARTS run: its experiment id, the trainer's history and export."""

    experiment_id: str
    history: list[dict[str, Any]]
    exported: dict[str, Any]
    log_dir: Path


@dataclass(frozen=True)
class Store:
    """The session's store and what was written into it."""

    path: Path
    storage: SQLiteStorage
    log_dir: Path
    oneshot: OneShotRun


def record_darts_run(
    storage: SQLiteStorage,
    log_dir: Path,
    epochs: int = ONESHOT_EPOCHS,
    samples: int = 192,
    arc_learning_rate: float = 0.05,
    batch_size: int = 64,
) -> OneShotRun:
    """A real (tiny) DARTS search on digits recorded by RecordToStorage."""
    torch.manual_seed(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: more threads only contend with other jobs
    split = load_digits()
    model = DigitsCellNet()
    recorder = RecordToStorage(storage, name="darts digits cell")
    trainer = DartsTrainer(
        model,
        F.cross_entropy,
        accuracy,
        torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9),
        epochs,
        Subset(split.train, range(samples)),
        Subset(split.test, range(min(samples // 2, len(split.test)))),
        batch_size=batch_size,
        device="cpu",
        callbacks=[recorder],
        arc_learning_rate=arc_learning_rate,
        log_dir=log_dir,
    )
    try:
        trainer.train()
    finally:
        torch.set_num_threads(threads)
    assert recorder.experiment_id is not None
    return OneShotRun(recorder.experiment_id, trainer.history, trainer.export(), log_dir)
