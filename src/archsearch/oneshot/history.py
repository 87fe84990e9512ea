"""What a one-shot search writes after every epoch: `history.json` (every epoch so far, replaced
atomically) and, when tensorboard is installed, TensorBoard scalars of the new epoch."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


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
