"""What the ranks of the distributed one-shot tests run (a module of its own, not a test file:
spawned processes and `torchrun` import it).

`launch(scenario, folder)` starts two processes the way `torchrun` does (RANK, WORLD_SIZE,
LOCAL_RANK, MASTER_ADDR=127.0.0.1 and MASTER_PORT in the environment; the trainers find the
launch themselves), runs `scenario(rank, folder)` on each and returns what each rank returned.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from oneshot_models import DigitsNet
from test_trainer_contract import CONFIGS, Config
from torch.multiprocessing.spawn import start_processes
from torch.nn import functional as F
from torch.utils.data import DataLoader, DistributedSampler, Subset

from archsearch.evaluator import load_digits
from archsearch.oneshot import (
    BaseOneShotTrainer,
    Callback,
    DartsMutator,
    LRSchedulerCallback,
    ModelCheckpoint,
    RandomTrainer,
    accuracy,
)

WORLD = 2
EPOCHS = 2
BATCH = 16
"""With 192 training images each rank has 96: 3 paired steps per epoch for the bi-level
trainers (two halves of 48), 6 for SPOS and random, `child_steps` for ENAS."""


def data() -> tuple[Subset[Any], Subset[Any]]:
    split = load_digits()
    return Subset(split.train, range(192)), Subset(split.test, range(64))


def build(
    name: str,
    log_dir: Path,
    *,
    devices: int | None = None,
    checkpoints: Path | None = None,
    kill_after_checkpoint: bool = False,
) -> BaseOneShotTrainer[Any]:
    """The contract test's trainer `name` (2 epochs, an LR schedule), seeded alike everywhere."""
    config: Config = CONFIGS[name]
    torch.manual_seed(0)
    model = config.model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    schedule = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    callbacks: list[Callback] = [LRSchedulerCallback(schedule)]
    if checkpoints is not None:
        callbacks.append(ModelCheckpoint(checkpoints))
    if kill_after_checkpoint:
        callbacks.append(KillAfterFirstEpoch())
    train, valid = data()
    return config.trainer(
        model=model,
        loss=F.cross_entropy,
        metrics=accuracy,
        optimizer=optimizer,
        num_epochs=EPOCHS,
        dataset_train=train,
        dataset_valid=valid,
        batch_size=BATCH,
        device="cpu",
        callbacks=callbacks,
        log_dir=log_dir,
        devices=devices,
        **config.settings,
    )


class KillAfterFirstEpoch(Callback):
    """SIGKILLs its process after the first epoch's callbacks before it (a checkpoint) ran."""

    def on_epoch_end(self, epoch: int) -> None:
        if epoch == 0:
            # Rank 0 writes the checkpoint after the ranks gathered their states; without the
            # barrier rank 1's death could end rank 0 (through the launcher) mid-write.
            if dist.is_initialized():
                dist.barrier()
            os.kill(os.getpid(), signal.SIGKILL)


def outcome(trainer: BaseOneShotTrainer[Any]) -> dict[str, Any]:
    """What a run ended with: its state, then its export (a search for SPOS and random)."""
    state = trainer.state_dict()
    return {"state": state, "export": trainer.export()}


# ----- scenarios (each runs on every rank) ---------------------------------------------------


def straight(rank: int, folder: Path) -> dict[str, Any]:
    """Every trainer for two epochs, and plain DDP around a DARTS model for comparison."""
    runs = {name: outcome(_trained(name, folder / f"straight-{name}")) for name in CONFIGS}
    return {
        "runs": runs,
        "plain_ddp": plain_ddp_darts(),
        "unsynced": unsynced(folder),
        "paths": {per_rank: paths(folder, per_rank) for per_rank in (False, True)},
    }


def first_epoch(rank: int, folder: Path) -> None:
    """Every trainer for one epoch with a checkpoint, then both ranks die."""
    for name in CONFIGS:
        trainer = build(name, folder / f"first-{name}", checkpoints=folder / f"ckpt-{name}")
        trainer.num_epochs = 1
        trainer.train()
    dist.barrier()
    os.kill(os.getpid(), signal.SIGKILL)


def resumed(rank: int, folder: Path) -> dict[str, Any]:
    """Every trainer resumed from its checkpoint of `first_epoch`, to the end."""
    runs = {}
    for name in CONFIGS:
        trainer = build(name, folder / f"resumed-{name}")
        trainer.load_checkpoint(folder / f"ckpt-{name}" / "last.ckpt")
        trainer.train()
        runs[name] = outcome(trainer)
    return {"runs": runs}


def _trained(name: str, log_dir: Path) -> BaseOneShotTrainer[Any]:
    trainer = build(name, log_dir)
    trainer.train()
    return trainer


def plain_ddp_darts(steps: int = 12) -> dict[str, torch.Tensor]:
    """First-order DARTS by hand with the model in DistributedDataParallel: one step trains
    weights and alphas on the rank's batch. DDP averages the weights' gradients; the alphas live
    in the mutator, outside the model, and are left to each rank."""
    torch.manual_seed(0)
    model = DigitsNet()
    mutator = DartsMutator(model)
    ddp = torch.nn.parallel.DistributedDataParallel(model)
    weights = torch.optim.SGD(model.parameters(), lr=0.05)
    alphas = torch.optim.Adam(mutator.parameters(), lr=3e-3)
    train, _ = data()
    loader = DataLoader(train, batch_size=BATCH, sampler=DistributedSampler(train, seed=0))
    for step, (x, y) in enumerate(loader):
        if step == steps:
            break
        weights.zero_grad()
        alphas.zero_grad()
        F.cross_entropy(ddp(x), y).backward()
        weights.step()
        alphas.step()
    return {
        "weights": torch.cat([p.detach().flatten() for p in model.parameters()]),
        "alphas": torch.cat([p.detach().flatten() for p in mutator.parameters()]),
    }


class UnsyncedTrainer(RandomTrainer):
    """A trainer written for one process: its step neither averages gradients nor draws from
    the shared stream."""

    def train_step(self, batch: Any) -> dict[str, float]:
        x, y = self.to_device(batch)
        self.mutator.reset()
        self.optimizer.zero_grad()
        loss = self.loss(self.model(x), y)
        loss.backward()
        self.optimizer.step()
        return {"loss": loss.item()}


def unsynced(folder: Path) -> str | None:
    """The error an `UnsyncedTrainer` epoch ends with on two ranks (None: none)."""
    torch.manual_seed(0)
    model = DigitsNet()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    train, valid = data()
    trainer = UnsyncedTrainer(
        model, F.cross_entropy, accuracy, optimizer, 1, train, valid, BATCH, device="cpu",
        log_dir=folder / "unsynced", seed=0,
    )  # fmt: skip
    try:
        trainer.train(validate=False)
    except RuntimeError as error:
        return str(error)
    return None


def paths(folder: Path, per_rank: bool) -> dict[str, Any]:
    """The path of every step of a random one-shot epoch (`path_per_rank=per_rank`), and the
    state the epoch ends with."""
    trainer = build("random", folder / f"paths-{per_rank}")
    trainer.path_per_rank = per_rank
    trainer.num_epochs = 1
    mutator = trainer.mutator
    taken: list[dict[str, list[bool]]] = []

    def record(*_: Any) -> None:
        taken.append(
            {label: mutator.decision_for(label).tolist() for label in mutator.search_space}
        )

    trainer.model.register_forward_pre_hook(record)
    trainer.train(validate=False)
    return {"paths": taken, "state": trainer.state_dict()}


# ----- launching ----------------------------------------------------------------------------


def launch(scenario: str, folder: Path) -> list[Any]:
    """Run `scenario` on WORLD ranks launched as torchrun would; each rank's result."""
    folder.mkdir(parents=True, exist_ok=True)
    args = (free_port(), scenario, str(folder))
    start_processes(_rank, args=args, nprocs=WORLD, start_method="spawn")
    return [torch.load(folder / f"{scenario}-{r}.pt", weights_only=False) for r in range(WORLD)]


def _rank(rank: int, port: int, scenario: str, folder: str) -> None:
    os.environ.update(
        RANK=str(rank),
        LOCAL_RANK=str(rank),
        WORLD_SIZE=str(WORLD),
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
    )
    torch.set_num_threads(1)  # as torchrun sets OMP_NUM_THREADS=1
    if not dist.is_initialized():
        dist.init_process_group("gloo")
    result = globals()[scenario](rank, Path(folder))
    torch.save(result, Path(folder) / f"{scenario}-{rank}.pt")
    dist.barrier()  # no rank tears its connections down while another still saves
    dist.destroy_process_group()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def main() -> None:
    """`torchrun ... distributed_runs.py NAME FOLDER`: train NAME, rank r writes its export."""
    name, folder = sys.argv[1], Path(sys.argv[2])
    trainer = _trained(name, folder / f"torchrun-{name}")
    torch.save(trainer.export(), folder / f"torchrun-{name}-{trainer.ranks.rank}.pt")
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
