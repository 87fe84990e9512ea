"""Which GPUs each local worker sees: `CUDA_VISIBLE_DEVICES` per worker slot.

A worker lives for many trials and CUDA reads `CUDA_VISIBLE_DEVICES` once, so GPUs are given
per worker slot (a replacement worker gets its slot's GPUs again), round-robin over the GPUs.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

VISIBLE = "CUDA_VISIBLE_DEVICES"


def visible_gpus() -> list[str]:
    """The GPUs this process may use, as `CUDA_VISIBLE_DEVICES` entries; [] without CUDA.

    Entries of this process's own `CUDA_VISIBLE_DEVICES` are kept as written (indices or
    UUIDs), so a worker never sees a GPU its runner was not given.
    """
    import torch

    if not torch.cuda.is_available():
        return []
    count = torch.cuda.device_count()
    inherited = os.environ.get(VISIBLE)
    if inherited is not None:
        return [d.strip() for d in inherited.split(",") if d.strip()][:count]
    return [str(i) for i in range(count)]


def worker_envs(
    concurrency: int, gpus: Sequence[int | str] | None, gpus_per_trial: int | None
) -> list[dict[str, str]]:
    """Environment overrides for each of `concurrency` worker slots.

    `gpus`: the devices to use (`CUDA_VISIBLE_DEVICES` entries); None: every GPU this process
    sees. `gpus_per_trial` (NNI's trial_gpu_number): None means 1 when there is a GPU, else 0.
    With k GPUs per trial, slot i gets the (i mod n//k)-th group of k GPUs, so with more slots
    than groups, slots share GPUs. With 0 GPUs per trial and GPUs present, workers see none
    (`CUDA_VISIBLE_DEVICES=""`: trials run on the CPU); with no GPU at all nothing is set.
    """
    devices = [str(d) for d in (visible_gpus() if gpus is None else gpus)]
    per_trial = (1 if devices else 0) if gpus_per_trial is None else gpus_per_trial
    if per_trial < 0:
        raise ValueError(f"gpus_per_trial must be 0 or more, not {per_trial}")
    if per_trial == 0:
        return [{VISIBLE: ""} if devices else {} for _ in range(concurrency)]
    if per_trial > len(devices):
        raise ValueError(
            f"gpus_per_trial={per_trial} but only {len(devices)} GPU(s) are available "
            f"({', '.join(devices) or 'none'}); use at most {len(devices)}, or 0 for CPU trials"
        )
    groups = len(devices) // per_trial
    return [
        {VISIBLE: ",".join(devices[(i % groups) * per_trial : (i % groups + 1) * per_trial])}
        for i in range(concurrency)
    ]
