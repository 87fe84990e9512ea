"""One-shot search on two gloo ranks on the CPU, for every trainer of the contract test (DARTS
first order and unrolled, ENAS, SPOS, ProxylessNAS, GDAS, random).

Each scenario of `distributed_runs.py` runs every trainer in one pair of processes (starting
processes is the slow part), launched as torchrun launches them; the tests then compare what the
two ranks ended with. `devices=2` (the trainer starts its processes) and the real `torchrun` are
checked against those runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from distributed_runs import EPOCHS, build, free_port, launch, outcome
from test_trainer_contract import CONFIGS, assert_identical
from torch.multiprocessing.spawn import ProcessExitedException

names = pytest.mark.parametrize("name", list(CONFIGS))
HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def straight(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """Each rank's end of two epochs of every trainer (and of plain DDP around DARTS)."""
    return launch("straight", tmp_path_factory.mktemp("straight"))


@pytest.fixture(scope="module")
def killed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of checkpoints of every trainer after epoch 1, written by two ranks that were
    then killed."""
    folder = tmp_path_factory.mktemp("killed")
    with pytest.raises(ProcessExitedException, match="SIGKILL"):
        launch("first_epoch", folder)
    return folder


@pytest.fixture(scope="module")
def resumed(killed: Path) -> list[dict[str, Any]]:
    """Each rank's end of every trainer resumed from `killed` on two new ranks."""
    return launch("resumed", killed)


def without_own_rng(state: dict[str, Any]) -> dict[str, Any]:
    """A trainer's state but its rank's own random state (each rank draws dropout and the like
    from its own stream; `state["ranks"]` holds every rank's)."""
    return {key: value for key, value in state.items() if key != "rng"}


@names
def test_both_ranks_end_with_the_same_weights_architecture_state_and_export(
    straight: list[dict[str, Any]], name: str, tmp_path: Path
) -> None:
    first, second = (rank["runs"][name] for rank in straight)
    # Weights and buffers, mutator or controller, optimizers, algorithm state, the history with
    # every epoch's probabilities and metrics, the shared random stream: bit for bit.
    assert_identical(without_own_rng(first["state"]), without_own_rng(second["state"]))
    assert first["export"] == second["export"]
    history = first["state"]["history"]
    assert len(history) == EPOCHS
    probabilities = [entry["probabilities"] for entry in history]
    assert probabilities == [entry["probabilities"] for entry in second["state"]["history"]]
    # Not equal for want of training: the weights moved, and the ranks' own streams differ.
    untrained = build(name, tmp_path).model.state_dict()
    trained = first["state"]["model"]
    assert any(not torch.equal(trained[key], untrained[key]) for key in untrained)
    assert not torch.equal(first["state"]["rng"]["torch"], second["state"]["rng"]["torch"])


def test_plain_ddp_lets_the_architecture_drift_apart_and_the_trainer_does_not(
    straight: list[dict[str, Any]],
) -> None:
    ddp = [rank["plain_ddp"] for rank in straight]
    assert torch.equal(ddp[0]["weights"], ddp[1]["weights"])  # DDP averages the weights' grads
    assert not torch.equal(ddp[0]["alphas"], ddp[1]["alphas"])  # the mutator's are left alone
    darts = [rank["runs"]["darts"]["state"]["mutator"] for rank in straight]
    assert_identical(darts[0], darts[1])


def test_both_ranks_die_after_writing_every_checkpoint(killed: Path) -> None:
    for name in CONFIGS:
        state = torch.load(killed / f"ckpt-{name}" / "last.ckpt", weights_only=False)
        assert state["epoch"] == 1 and state["ranks"]["world_size"] == 2
        assert len(state["ranks"]["rng"]) == 2  # every rank's own random state


def test_single_path_steps_take_one_path_on_every_rank_or_one_per_rank(
    straight: list[dict[str, Any]],
) -> None:
    same, per_rank = ([rank["paths"][flag] for rank in straight] for flag in (False, True))
    assert same[0]["paths"] == same[1]["paths"]
    steps = list(zip(per_rank[0]["paths"], per_rank[1]["paths"], strict=True))
    assert any(first != second for first, second in steps)
    # Rank 1 takes the draw after rank 0's: its first path is the same-path run's second one.
    assert per_rank[1]["paths"][0] == same[0]["paths"][1]
    for run in (same, per_rank):  # either way the replicas stay equal
        assert_identical(without_own_rng(run[0]["state"]), without_own_rng(run[1]["state"]))


def test_a_trainer_whose_steps_ignore_the_other_rank_fails_after_its_epoch(
    straight: list[dict[str, Any]],
) -> None:
    for rank in straight:  # the same clear error on both ranks, not a silent drift
        assert rank["unsynced"] is not None
        assert "differ after a random epoch" in rank["unsynced"]
        assert "average_gradients" in rank["unsynced"]


@names
def test_a_search_killed_after_epoch_1_resumes_on_both_ranks_bitwise(
    straight: list[dict[str, Any]], resumed: list[dict[str, Any]], name: str
) -> None:
    for rank in (0, 1):
        # Every rank's own random state included: each continues exactly.
        assert_identical(resumed[rank]["runs"][name], straight[rank]["runs"][name], f"rank {rank}")


def test_devices_2_starts_its_ranks_and_a_killed_run_resumes_as_torchrun_ran_it(
    straight: list[dict[str, Any]], tmp_path: Path
) -> None:
    name = "enas"
    killed = build(
        name,
        tmp_path / "killed",
        devices=2,
        checkpoints=tmp_path / "ckpt",
        kill_after_checkpoint=True,
    )
    with pytest.raises(ProcessExitedException, match="SIGKILL"):
        killed.train()
    assert killed.epoch == 0  # nothing came back

    trainer = build(name, tmp_path / "resumed", devices=2)
    trainer.load_checkpoint(tmp_path / "ckpt" / "last.ckpt")
    assert trainer.epoch == 1
    trainer.train()
    assert trainer.epoch == EPOCHS
    assert (tmp_path / "resumed" / "history.json").exists()  # written by rank 0
    assert_identical(outcome(trainer), straight[0]["runs"][name])


def test_torchrun_and_devices_2_export_the_same_architecture(
    straight: list[dict[str, Any]], tmp_path: Path
) -> None:
    name = "spos"  # export is an evolution search, split over the ranks
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(HERE.parents[1] / "src"), str(HERE)]),
    }
    command = [
        *(sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2"),
        *("--master_addr", "127.0.0.1", "--master_port", str(free_port())),
        *(str(HERE / "distributed_runs.py"), name, str(tmp_path)),
    ]
    subprocess.run(command, env=env, check=True, capture_output=True, timeout=300)
    exports = [torch.load(tmp_path / f"torchrun-{name}-{r}.pt") for r in (0, 1)]
    expected = straight[0]["runs"][name]
    assert exports[0] == exports[1] == expected["export"]

    # The same supernet searched by `devices=2` (the state of the runs above, before export).
    trainer = build(name, tmp_path / "devices", devices=2)
    trainer.load_state_dict(expected["state"])
    assert trainer.export() == exports[0]
    assert (tmp_path / "devices" / "search.json").exists()  # written by rank 0
