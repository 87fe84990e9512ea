"""One-shot search on several processes: SPOS on MNIST-1D with `devices=2`, or under torchrun.

Each process (rank) holds a replica of the supernet and trains on its own shard of the data; the
trainer averages gradients, shares the random stream that samples paths, and keeps every rank's
weights, sampler and export identical (docs/oneshot.md, "Several processes and GPUs"). On CPU
the ranks use gloo; with `--device cuda` each rank takes one GPU and nccl.

    python examples/08_distributed_oneshot.py                 # the trainer starts 2 processes
    python examples/08_distributed_oneshot.py --devices 1     # the same search on one process
    torchrun --nproc_per_node 2 examples/08_distributed_oneshot.py --devices 0   # a launcher
    python examples/08_distributed_oneshot.py --fast          # smoke run used by the test suite

`--devices 0` leaves the count to the launcher (`devices=None`). With `devices=N` the trainer
travels to its processes pickled, so the model, data, loss and metrics are defined at module
level and the script runs under `if __name__ == "__main__":`.
"""

from __future__ import annotations

import argparse
import json
import time

import torch
import torch.distributed as dist
from mnist1d_cnn import Mnist1dCNN, accuracy, train
from torch.utils.data import Subset

import archsearch
from archsearch.evaluator import load_mnist1d
from archsearch.oneshot import SposTrainer
from archsearch.oneshot import accuracy as batch_accuracy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=2, help="processes (0: the launcher's)")
    parser.add_argument("--device", default="cpu", help="cpu, or cuda (one GPU per rank)")
    parser.add_argument("--fast", action="store_true", help="tiny run for tests")
    args = parser.parse_args()
    split = load_mnist1d()
    size = 512 if args.fast else 3500
    data, valid = Subset(split.train, range(size)), Subset(split.train, range(3500, 4000))
    torch.manual_seed(0)
    model = Mnist1dCNN()
    trainer = SposTrainer(
        model,
        torch.nn.functional.cross_entropy,
        batch_accuracy,
        torch.optim.Adam(model.parameters(), lr=0.005),
        1 if args.fast else 20,
        data,
        valid,
        batch_size=64,  # per rank: two ranks take 128 samples per step
        device=args.device,
        devices=args.devices or None,
        seed=0,
        population_size=4 if args.fast else 20,
        num_generations=1 if args.fast else 6,
        bn_recalibration_batches=2 if args.fast else 8,
    )
    start = time.perf_counter()
    trainer.train()
    arch = trainer.export()  # the evolution's candidates are scored split over the ranks
    seconds = time.perf_counter() - start
    ranks = trainer.ranks
    if ranks.is_main:
        processes = ranks.spawn if ranks.spawn > 1 else ranks.world_size
        print(f"searched on {processes} process(es) in {seconds:.0f} s")
        print(f"  architecture: {json.dumps(arch)}")
        torch.manual_seed(1)
        fixed = archsearch.fix(Mnist1dCNN(), arch)
        train(
            fixed,
            Subset(split.train, range(1024 if args.fast else 4000)),
            epochs=1 if args.fast else 15,
            progress=False,
        )
        print(f"retrained from scratch: accuracy: {accuracy(fixed, split.test):.1f}% test")
    if dist.is_initialized():  # under a launcher the script owns the process group
        dist.barrier()
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
