"""What a one-shot search writes after every epoch: `history.json` (every epoch so far, replaced
atomically) and, when tensorboard is installed, TensorBoard scalars of the new epoch."""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from archsearch.space import archsearch_home

logger = logging.getLogger("archsearch.oneshot")


def default_log_dir(algorithm: str) -> Path:
    """`$ARCHSEARCH_HOME/oneshot/<algorithm>-<time>-<pid>`."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return archsearch_home() / "oneshot" / f"{algorithm}-{stamp}-{os.getpid()}"


def log_epoch(
    algorithm: str,
    epoch: int,
    num_epochs: int,
    train: Mapping[str, float],
    valid: Mapping[str, float],
) -> None:
    """One log line with an epoch's train and validation metrics."""
    logger.info(
        "%s epoch %d/%d train %s valid %s",
        *(algorithm, epoch + 1, num_epochs, _fmt(train), _fmt(valid)),
    )


def _fmt(values: Mapping[str, float]) -> str:
    return " ".join(f"{k}={v:.4f}" for k, v in values.items()) or "-"


class HistoryWriter:
    """Writes a trainer's `history` (a list of epoch entries) into its log directory."""

    def __init__(self) -> None:
        self._tensorboard: Any = None

    def write(self, log_dir: Path, algorithm: str, history: Sequence[Mapping[str, Any]]) -> None:
        """Rewrite `log_dir/history.json` and add the last entry's scalars to TensorBoard."""
        log_dir.mkdir(parents=True, exist_ok=True)
        tmp = log_dir / ".history.json.tmp"
        tmp.write_text(json.dumps({"algorithm": algorithm, "epochs": list(history)}, indent=1))
        os.replace(tmp, log_dir / "history.json")
        if history:
            self._scalars(log_dir, history[-1])

    def flush(self) -> None:
        """Flush TensorBoard events written so far."""
        if self._tensorboard is not None:
            self._tensorboard.flush()

    def _scalars(self, log_dir: Path, entry: Mapping[str, Any]) -> None:
        if self._tensorboard is None:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:  # tensorboard is optional
                return
            self._tensorboard = SummaryWriter(str(log_dir))
        step = entry["epoch"]
        for phase in ("train", "valid"):
            for key, value in entry[phase].items():
                self._tensorboard.add_scalar(f"{phase}/{key}", value, step)
        for label, probs in entry["probabilities"].items():
            for i, p in enumerate(probs):
                self._tensorboard.add_scalar(f"probabilities/{label}/{i}", p, step)
