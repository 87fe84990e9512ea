"""Trainer callbacks (NNI's names): learning-rate schedule, architecture and model checkpoints."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from archsearch.oneshot.base import BaseOneShotTrainer


class Callback:
    """Hooks around each epoch of a one-shot trainer; state is checkpointed with the trainer.

    On several ranks every rank runs the callbacks (their state stays equal); one that writes
    files or records does so where `self.trainer.ranks.is_main`."""

    trainer: BaseOneShotTrainer[Any]

    def build(self, trainer: BaseOneShotTrainer[Any]) -> None:
        """Called by `trainer.train()` before its first epoch: after the trainer is fully built
        and after any checkpoint was loaded (so resumed state is visible here)."""
        self.trainer = trainer

    def on_epoch_begin(self, epoch: int) -> None:
        """Before epoch `epoch` (0-based) trains."""

    def on_epoch_end(self, epoch: int) -> None:
        """After epoch `epoch` trained, validated and was recorded."""

    def on_train_end(self, error: BaseException | None) -> None:
        """When `train()` returns (`error` None) or raises `error` (then re-raised)."""

    def state_dict(self) -> dict[str, Any]:
        """What a resumed search needs to continue this callback."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore `state_dict()`."""


class LRSchedulerCallback(Callback):
    """Step a learning-rate scheduler after every epoch (its state is checkpointed)."""

    def __init__(self, scheduler: Any, mode: str = "epoch") -> None:
        if mode != "epoch":
            raise ValueError("LRSchedulerCallback steps once per epoch (mode='epoch')")
        self.scheduler = scheduler

    def on_epoch_end(self, epoch: int) -> None:
        self.scheduler.step()

    def state_dict(self) -> dict[str, Any]:
        return dict(self.scheduler.state_dict())

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.scheduler.load_state_dict(state)


class ArchitectureCheckpoint(Callback):
    """Write the current architecture after every epoch to `checkpoint_dir/epoch_N.json`
    (algorithms whose export is a search of its own, like SPOS, write nothing)."""

    def __init__(self, checkpoint_dir: str | os.PathLike[str]) -> None:
        self.checkpoint_dir = Path(checkpoint_dir)

    def on_epoch_end(self, epoch: int) -> None:
        arch = self.trainer.current_architecture()
        if arch is None or not self.trainer.ranks.is_main:  # rank 0 writes
            return
        self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        path = self.checkpoint_dir / f"epoch_{epoch}.json"
        path.write_text(json.dumps(arch, indent=2) + "\n", encoding="utf-8")


class ModelCheckpoint(Callback):
    """After every epoch, save the supernet weights (`epoch_N.pth`) and a full trainer
    checkpoint (`last.ckpt`) that `trainer.load_checkpoint` resumes from."""

    def __init__(self, checkpoint_dir: str | os.PathLike[str]) -> None:
        self.checkpoint_dir = Path(checkpoint_dir)

    def on_epoch_end(self, epoch: int) -> None:
        if self.trainer.ranks.is_main:  # every rank takes part in `save_checkpoint`
            self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
            torch.save(self.trainer.model.state_dict(), self.checkpoint_dir / f"epoch_{epoch}.pth")
        self.trainer.save_checkpoint(self.checkpoint_dir / "last.ckpt")
