"""GPU slots of local workers: which `CUDA_VISIBLE_DEVICES` each worker gets."""

from __future__ import annotations

import pytest
import torch

from archsearch.execution.gpus import VISIBLE, visible_gpus, worker_envs


def test_one_gpu_per_trial_round_robin() -> None:
    envs = worker_envs(5, ["0", "1", "2"], 1)
    assert [e[VISIBLE] for e in envs] == ["0", "1", "2", "0", "1"]


def test_several_gpus_per_trial_in_groups() -> None:
    envs = worker_envs(3, [0, 1, 2, 3, 4], 2)  # 5 GPUs make two groups of two
    assert [e[VISIBLE] for e in envs] == ["0,1", "2,3", "0,1"]


def test_default_is_one_gpu_per_trial_when_there_are_gpus() -> None:
    assert worker_envs(2, ["GPU-a", "GPU-b"], None) == [{VISIBLE: "GPU-a"}, {VISIBLE: "GPU-b"}]


def test_zero_gpus_per_trial_hides_the_gpus() -> None:
    assert worker_envs(2, ["0"], 0) == [{VISIBLE: ""}, {VISIBLE: ""}]


def test_without_gpus_nothing_is_set() -> None:
    assert worker_envs(2, [], None) == [{}, {}]
    assert worker_envs(2, [], 0) == [{}, {}]


def test_auto_detection_follows_torch() -> None:
    found = visible_gpus()
    assert len(found) == (torch.cuda.device_count() if torch.cuda.is_available() else 0)


@pytest.mark.parametrize(
    ("gpus", "per_trial", "message"),
    [
        (["0"], 2, "gpus_per_trial=2 but only 1 GPU"),
        ([], 1, r"only 0 GPU\(s\) are available \(none\)"),
        (["0"], -1, "gpus_per_trial must be 0 or more"),
    ],
)
def test_impossible_requests_are_refused(gpus: list[str], per_trial: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        worker_envs(1, gpus, per_trial)
