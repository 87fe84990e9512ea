"""What a one-shot checkpoint holds (`trainer_state`, `load_trainer_state`) and how it is
written (`save_atomic`)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from archsearch.oneshot.rng import rng_state, set_rng_state

if TYPE_CHECKING:
    from archsearch.oneshot.base import BaseOneShotTrainer


def trainer_state(trainer: BaseOneShotTrainer[Any]) -> dict[str, Any]:
    """Model, mutator, optimizers, callbacks, history, algorithm state, global random state and
    epoch of `trainer`; on several ranks also `"ranks"`, every rank's random state (gathered:
    every rank must call this)."""
    state = {
        "algorithm": trainer.algorithm,
        "epoch": trainer.epoch,
        "model": trainer.model.state_dict(),
        "mutator": trainer.mutator.state_dict(),
        "optimizers": {k: o.state_dict() for k, o in trainer.optimizers().items()},
        "callbacks": [c.state_dict() for c in trainer.callbacks],
        "history": trainer.history,
        "extra": trainer.extra_state(),
        "rng": rng_state(),
    }
    ranks = trainer.ranks.state_dict()
    return state if ranks is None else {**state, "ranks": ranks}


def load_trainer_state(trainer: BaseOneShotTrainer[Any], state: Mapping[str, Any]) -> None:
    """Restore what `trainer_state` returned into `trainer`."""
    if state.get("algorithm") != trainer.algorithm:
        found = state.get("algorithm")
        raise ValueError(f"a {found!r} checkpoint cannot resume a {trainer.algorithm!r} search")
    trainer.model.load_state_dict(state["model"])
    trainer.mutator.load_state_dict(state["mutator"])
    for key, optimizer in trainer.optimizers().items():
        optimizer.load_state_dict(state["optimizers"][key])
    for callback, saved in zip(trainer.callbacks, state["callbacks"], strict=False):
        callback.load_state_dict(saved)
    trainer.history = list(state["history"])
    trainer.load_extra_state(state["extra"])
    set_rng_state(state["rng"])
    trainer.ranks.load_state_dict(state.get("ranks"))
    trainer.epoch = int(state["epoch"])


def save_atomic(state: Mapping[str, Any], path: str | os.PathLike[str]) -> None:
    """`torch.save(state, path)` through a temporary file, so a crash mid-write never leaves
    half a checkpoint."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)
