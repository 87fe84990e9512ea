"""How the processes of a one-shot search start: from a `torchrun` launch (detected from its
environment), or by the trainer itself for `devices=N` (`spawn`); and `join`, which makes the
ranks' replicas equal before they train."""

from __future__ import annotations

import os
import pickle
import re
import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
import torch.distributed as dist
from torch.multiprocessing.spawn import start_processes

from archsearch.oneshot.distributed import Ranks
from archsearch.oneshot.rng import rng_state, set_rng_state

if TYPE_CHECKING:
    from archsearch.oneshot.base import BaseOneShotTrainer


def from_environment(devices: int | None, device: torch.device) -> Ranks:
    """The ranks of a `torchrun` launch (RANK/WORLD_SIZE/LOCAL_RANK: joins the process group,
    nccl for a CUDA `device`, else gloo; or uses one already set up), placed on `device`; else
    one process that spawns `devices` (None: 1)."""
    if devices is not None and (isinstance(devices, bool) or not isinstance(devices, int)):
        raise TypeError(f"devices must be an int (the number of processes), got {devices!r}")
    if devices is not None and devices < 1:
        raise ValueError(f"devices must be >= 1, got {devices}")
    world = dist.get_world_size() if dist.is_initialized() else 0
    world = world or int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        ranks = Ranks(spawn=devices or 1)
        ranks.place(device)
        return ranks
    if devices not in (None, world):
        raise ValueError(
            f"devices={devices}, but this process is one of {world} started by a launcher "
            f"(WORLD_SIZE={world}): pass devices=None or {world}"
        )
    ranks = Ranks(int(os.environ.get("RANK", "0")), world, int(os.environ.get("LOCAL_RANK", "0")))
    device = ranks.place(device)
    if not dist.is_initialized():
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    ranks.rank = dist.get_rank()
    return ranks


def join(trainer: BaseOneShotTrainer[Any]) -> None:
    """Before training on several ranks: rank 0's weights, decisions and algorithm state on
    every rank (a torchrun launch may have built them differently), and the random streams."""
    ranks = trainer.ranks
    if not ranks.active:
        ranks.start()
        return
    ranks.broadcast_states(trainer.model, trainer.mutator)
    trainer.load_extra_state(ranks.broadcast_object(trainer.extra_state()))
    ranks.start()


def spawn(trainer: BaseOneShotTrainer[Any], method: str, *args: Any) -> Any:
    """Run `trainer.<method>(*args)` on `trainer.ranks.spawn` new processes (gloo on the CPU,
    nccl on CUDA, one GPU each), then load rank 0's final state into `trainer` and return rank
    0's result. The trainer travels pickled: its loss, metrics, datasets and model must be
    importable, as for any spawned process."""
    count = trainer.ranks.spawn
    cuda = trainer.device.type == "cuda"
    if cuda and torch.cuda.device_count() < count:
        raise ValueError(
            f"devices={count} needs {count} CUDA devices, {torch.cuda.device_count()} found"
        )
    with tempfile.TemporaryDirectory(prefix="archsearch-ranks-") as tmp:
        folder = Path(tmp)
        try:
            job = {"trainer": trainer, "method": method, "args": args, "rng": rng_state()}
            torch.save(job, folder / "job.pt")
        except (pickle.PicklingError, AttributeError, TypeError) as exc:
            raise TypeError(
                f"devices={count} starts {count} processes and sends them the trainer, which "
                f"cannot be pickled ({exc}): define loss, metrics, datasets and model at module "
                "level, or launch the script with torchrun"
            ) from exc
        backend = "nccl" if cuda else "gloo"
        start_processes(_worker, args=(count, tmp, backend), nprocs=count, start_method="spawn")
        result = torch.load(folder / "result.pt", map_location=trainer.device, weights_only=False)
    trainer.load_state_dict(result["state"])
    return result["value"]


def _worker(rank: int, count: int, folder: str, backend: str) -> None:
    cuda = backend == "nccl"
    if cuda:
        torch.cuda.set_device(rank)
    elif "OMP_NUM_THREADS" not in os.environ:  # the ranks share the cores
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // count))
    # A file store, not a TCP one: no port to race other programs for, and no store server living
    # in rank 0 that the other ranks need until they have shut down.
    init = f"file://{folder}/store"
    dist.init_process_group(backend, init_method=init, rank=rank, world_size=count)
    try:
        where = {f"cuda:{i}": f"cuda:{rank}" for i in range(torch.cuda.device_count())}
        job = torch.load(Path(folder) / "job.pt", map_location=where or None, weights_only=False)
        trainer = job["trainer"]
        trainer.ranks = trainer.ranks.joined(rank, count)
        trainer.device = trainer.ranks.place(torch.device(f"cuda:{rank}" if cuda else "cpu"))
        set_rng_state(job["rng"])
        trainer.ranks.start()  # a checkpoint's streams, or new ones
        # Pickling drops an LR scheduler's wrapper of `optimizer.step`, which it then warns of.
        warnings.filterwarnings("ignore", re.escape("Seems like `optimizer.step()` has been"))
        value = getattr(trainer, job["method"])(*job["args"])
        state = trainer.state_dict()  # a collective: every rank takes part
        if rank == 0:
            torch.save({"state": state, "value": value}, Path(folder) / "result.pt")
        # Gloo aborts a process (SIGABRT, ~1 run in 25) whose peer closes its connections while
        # it is still at work: every rank reaches the end before any tears its group down.
        dist.barrier()
    finally:
        dist.destroy_process_group()
