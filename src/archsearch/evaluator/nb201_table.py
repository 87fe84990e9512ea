"""NAS-Bench-201 as a tabular evaluator: a trial's metrics are looked up, not trained.

NAS-Bench-201 (Dong & Yang, ICLR 2020) trained every one of the 5^6 = 15,625 cells of its
topology space. Its cell has 4 nodes; each of the 6 edges `j -> i` (i > j) applies one of 5
operations. Here the space has one layer choice per edge, labelled `"i<-j"` in the benchmark's
arch-string order, so a search over it is answered from the table in microseconds.

The table is `nb201_merged.csv` (see `../shared/data/README.md` beside the project): one row per
cell, columns `c10_hp12_valid_acc` (12-epoch CIFAR-10 validation accuracy, the usual search
reward), `c10_test_acc` (200-epoch CIFAR-10 test accuracy, the paper's "CIFAR-10 test"),
`c10_valid_acc`, `c10_test_acc_trainsplit`, `c100_test_acc`, `in16_test_acc` and
`c10valid_train_time_s` (seconds to train 200 epochs). It is read once per process.
Standard library only: no torch is imported here.
"""

from __future__ import annotations

import csv
import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archsearch.evaluator.base import Metric, TrialEvaluator, TrialInput
from archsearch.space import Architecture, LayerChoiceDim, SearchSpace

EDGES = ("1<-0", "2<-0", "2<-1", "3<-0", "3<-1", "3<-2")
"""The labels of the space: one per cell edge, in arch-string order."""

OPERATIONS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
"""The candidate operations of every edge, in NAS-Bench-201's order."""

ENV_VAR = "ARCHSEARCH_NB201"
"""Environment variable naming the table file (overrides the default location)."""

TABLE_NAME = "nb201_merged.csv"
PROJECT_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_PATH = PROJECT_ROOT.parent / "shared" / "data" / "nb201" / TABLE_NAME
"""Where the shared data lives beside a checkout of the project."""

COLUMNS = (
    "c10_valid_acc",
    "c10_test_acc_trainsplit",
    "c10_test_acc",
    "c100_test_acc",
    "in16_test_acc",
    "c10_hp12_valid_acc",
    "c10valid_train_time_s",
)
"""The numeric columns of the table (any of them may be the reward)."""

TRAIN_TIME = "c10valid_train_time_s"
FULL_EPOCHS = 200
REWARD_EPOCHS = {"c10_hp12_valid_acc": 12}
"""Epochs behind a reward column, where it is not the full 200-epoch schedule."""


def nb201_space() -> SearchSpace:
    """The NAS-Bench-201 cell space: a LayerChoice over OPERATIONS for each edge in EDGES."""
    return SearchSpace(LayerChoiceDim(edge, OPERATIONS) for edge in EDGES)


_SPACE = nb201_space()


def arch_to_str(arch: Mapping[str, Any]) -> str:
    """The benchmark's arch string, `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`, of an architecture
    of `nb201_space()` (any accepted spelling: names or indices)."""
    canonical = _SPACE.validate(arch)
    nodes = []
    for node in (1, 2, 3):
        nodes.append("".join(f"|{canonical[f'{node}<-{j}']}~{j}" for j in range(node)) + "|")
    return "+".join(nodes)


def str_to_arch(arch_str: str) -> Architecture:
    """The architecture of `nb201_space()` written by a benchmark arch string."""
    expected = "'|op~0|+|op~0|op~1|+|op~0|op~1|op~2|' with op one of " + ", ".join(OPERATIONS)
    groups = arch_str.split("+") if isinstance(arch_str, str) else []
    if len(groups) != 3:
        raise ValueError(f"not a NAS-Bench-201 arch string: {arch_str!r}; expected {expected}")
    arch: Architecture = {}
    for node, group in enumerate(groups, start=1):
        edges = group.strip("|").split("|")
        if not (group.startswith("|") and group.endswith("|")) or len(edges) != node:
            raise ValueError(f"node {node} of {arch_str!r} is malformed; expected {expected}")
        for j, edge in enumerate(edges):
            op, _, source = edge.partition("~")
            if op not in OPERATIONS or source != str(j):
                raise ValueError(f"edge {edge!r} of {arch_str!r} is malformed; expected {expected}")
            arch[f"{node}<-{j}"] = op
    return _SPACE.validate(arch)


@dataclass(frozen=True)
class Nb201Table:
    """The NAS-Bench-201 table in memory: arch string → one float per column of COLUMNS."""

    path: str
    rows: Mapping[str, tuple[float, ...]]

    def __len__(self) -> int:
        return len(self.rows)

    def query(self, arch: Mapping[str, Any] | str) -> dict[str, float]:
        """Every column of one cell, given as an architecture or an arch string."""
        key = arch if isinstance(arch, str) else arch_to_str(arch)
        row = self.rows.get(key)
        if row is None:
            raise KeyError(f"{key!r} is not in the NAS-Bench-201 table {self.path}")
        return dict(zip(COLUMNS, row, strict=True))


def default_path() -> Path:
    """The table file: $ARCHSEARCH_NB201 if set, else the shared data beside the project."""
    return Path(os.environ.get(ENV_VAR) or DEFAULT_PATH)


def load_table(path: str | os.PathLike[str] | None = None) -> Nb201Table:
    """Read the table (once per process and file; later calls return the cached one).

    Raises FileNotFoundError saying where the file is expected and how to point at it.
    """
    resolved = Path(path) if path is not None else default_path()
    if not resolved.is_file():
        raise FileNotFoundError(
            f"NAS-Bench-201 table not found at {resolved}. It is not shipped with archsearch: "
            f"put the shared benchmark data beside the project (the file {TABLE_NAME}, "
            f"expected at {DEFAULT_PATH}; see shared/data/README.md for its sources, "
            f"NAS-Bench-201 / NATS-Bench), or set {ENV_VAR}=/path/to/{TABLE_NAME}, or pass "
            "path=... ."
        )
    return _load(str(resolved.resolve()))


@functools.lru_cache(maxsize=4)
def _load(path: str) -> Nb201Table:
    with open(path, newline="") as file:
        reader = csv.DictReader(file)
        missing = [c for c in ("arch_str", *COLUMNS) if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(
                f"{path} is not the merged NAS-Bench-201 table: columns {missing} are missing "
                f"(it has {reader.fieldnames})"
            )
        rows = {row["arch_str"]: tuple(float(row[c]) for c in COLUMNS) for row in reader}
    return Nb201Table(path=path, rows=rows)


class NasBench201Tabular(TrialEvaluator):
    """Answers a trial of `nb201_space()` from the NAS-Bench-201 table, building no model.

    The final metrics are `{"default": <reward column>, "test_acc_200ep": c10_test_acc,
    "train_time_s": <200-epoch training time>, "simulated_time_s": <training time the reward
    took>}`; the simulated time scales the 200-epoch time by the reward's epochs (12/200 for
    the default 12-epoch reward, an estimate: the table holds only the 200-epoch time).
    `path` as for `load_table`. Only the path and reward are pickled to workers; each process
    reads the table once.
    """

    def __init__(
        self, path: str | os.PathLike[str] | None = None, reward: str = "c10_hp12_valid_acc"
    ) -> None:
        if reward not in COLUMNS or reward == TRAIN_TIME:
            valid = [c for c in COLUMNS if c != TRAIN_TIME]
            raise ValueError(f"reward must be one of the table's accuracy columns {valid}")
        self.path = None if path is None else os.fspath(path)
        self.reward = reward

    @property
    def table(self) -> Nb201Table:
        """The table (read on first use)."""
        return load_table(self.path)

    def query(self, arch: Mapping[str, Any] | str) -> dict[str, float]:
        """The metrics a trial of `arch` reports (see the class docstring)."""
        row = self.table.query(arch)
        epochs = REWARD_EPOCHS.get(self.reward, FULL_EPOCHS)
        return {
            "default": row[self.reward],
            "test_acc_200ep": row["c10_test_acc"],
            "train_time_s": row[TRAIN_TIME],
            "simulated_time_s": row[TRAIN_TIME] * (epochs / FULL_EPOCHS),
        }

    def evaluate_trial(self, trial: TrialInput) -> Metric | None:
        """The table's metrics for `trial.arch`; the model is never built."""
        return self.query(trial.arch)

    def __repr__(self) -> str:
        return f"NasBench201Tabular(path={self.path!r}, reward={self.reward!r})"
