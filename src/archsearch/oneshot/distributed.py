"""One-shot search on several processes (torch.distributed): `Ranks`, what a trainer calls to
stay identical on every rank (`launch.py` starts the processes).

Every rank holds a full replica of the supernet, the mutator and the optimizers. Each step, each
rank runs its shard of the batch; gradients (weights and architecture) are averaged by one
all-reduce before any optimizer or clipping sees them, so every replica takes the same step.
Random draws come from two streams: the rank's own (dropout, augmentation, loader workers) and a
stream shared by all ranks, swapped in around every architecture draw (`shared_random`), so all
ranks sample the same path without exchanging it. `Ranks()` is one process: every method is then
a no-op, and the trainer runs exactly as without it.
"""

from __future__ import annotations

import contextlib
import math
import random
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import Dataset, DistributedSampler

T = TypeVar("T")
R = TypeVar("R")


class Ranks:
    """Where a trainer runs: `world_size` processes of which this is `rank` (`Ranks()`: one
    process), or a process that starts `spawn` of them for each `train()` (`devices=N`)."""

    def __init__(
        self, rank: int = 0, world_size: int = 1, local_rank: int = 0, spawn: int = 1
    ) -> None:
        self.rank = rank
        self.world_size = world_size
        self.local_rank = local_rank
        self.spawn = spawn
        """How many processes `train()` starts (1: none, it trains here)."""
        self.device = torch.device("cpu")
        self._local = 0
        self._shared: dict[str, Any] | None = None
        """The shared random stream (identical on every rank); None until the first draw."""
        self._loaded: dict[str, Any] | None = None
        """The random states of a checkpoint, waiting to be applied on the ranks."""

    def joined(self, rank: int, world_size: int) -> Ranks:
        """Rank `rank` of `world_size` processes this one spawned (with any checkpoint's random
        states it holds)."""
        ranks = Ranks(rank, world_size, rank)
        ranks._loaded = self._loaded
        return ranks

    @property
    def active(self) -> bool:
        """Whether collectives run (several ranks, outside `local()`)."""
        return self.world_size > 1 and not self._local

    @property
    def is_main(self) -> bool:
        """Rank 0: the one that writes files, history and records."""
        return self.rank == 0

    def place(self, device: torch.device) -> torch.device:
        """The device of this rank: `cuda` becomes `cuda:LOCAL_RANK` on several ranks."""
        if self.world_size > 1 and str(device) == "cuda":  # no index given
            device = torch.device("cuda", self.local_rank)
        self.device = device
        return device

    @contextlib.contextmanager
    def local(self) -> Iterator[None]:
        """Within: this rank works alone (no sharding, no collectives), e.g. on its share of a
        `map`."""
        self._local += 1
        try:
            yield
        finally:
            self._local -= 1

    # ----- random streams --------------------------------------------------------------------

    def start(self) -> None:
        """Set up the random streams before training: a checkpoint's when it has this many
        ranks, else new ones from a seed that rank 0 draws from its torch generator (so the
        same seeding gives the same run however the ranks were launched)."""
        loaded, self._loaded = self._loaded, None
        if not self.active:
            return
        if loaded is not None and loaded["world_size"] == self.world_size:
            _set_stream(loaded["rng"][self.rank], self.device)
            self._shared = loaded["shared"]
            return
        if self._shared is not None:
            return
        seed = int(torch.randint(2**62, ())) if self.is_main else 0
        seed = self.broadcast_object(seed)
        with _isolated(self.device):
            _seed_all(seed)
            self._shared = _stream(self.device)
        _seed_all(seed + 1 + self.rank)

    @contextlib.contextmanager
    def shared_random(self) -> Iterator[None]:
        """Within: every global generator (torch on the CPU and this rank's GPU, Python,
        NumPy) draws from the stream all ranks share; the rank's own stream is put back after."""
        if not self.active:
            yield
            return
        if self._shared is None:
            self.start()
        assert self._shared is not None
        own = _stream(self.device)
        _set_stream(self._shared, self.device)
        try:
            yield
        finally:
            self._shared = _stream(self.device)
            _set_stream(own, self.device)

    @contextlib.contextmanager
    def one_path(self, reset: Callable[[], None], per_rank: bool) -> Iterator[None]:
        """Within: the path of this rank's single-path step, drawn by `reset()` from the shared
        stream: the same on every rank, or with `per_rank` the rank-th of `world_size` draws
        (the draws of the other ranks are made too, so every sampler ends in one state)."""
        if not self.active:
            reset()
            yield
            return
        ahead = self.rank if per_rank else 0
        with self.shared_random():
            for _ in range(ahead + 1):
                reset()
        yield
        rest = self.world_size - ahead - 1 if per_rank else 0
        if rest:  # the other ranks' draws; a swap of streams with nothing to draw costs ~0.2 ms
            with self.shared_random():
                for _ in range(rest):
                    reset()

    def state_dict(self) -> dict[str, Any] | None:
        """Every rank's random state and the shared stream (a collective; None on one rank)."""
        if not self.active:
            return self._loaded
        if self._shared is None:
            self.start()
        streams: list[Any] = [None] * self.world_size
        dist.all_gather_object(streams, _stream(self.device))
        return {"world_size": self.world_size, "rng": streams, "shared": self._shared}

    def load_state_dict(self, state: Mapping[str, Any] | None) -> None:
        """Keep a checkpoint's random states for the next `start()`."""
        self._loaded = None if state is None else dict(state)
        self._shared = None

    # ----- collectives -----------------------------------------------------------------------

    def average_gradients(self, params: Iterable[torch.Tensor]) -> None:
        """Replace each parameter's `.grad` by its mean over the ranks whose step gave it one
        (one all-reduce); a parameter no rank gave a gradient keeps none."""
        if self.active:
            params = list(params)
            means = self.average([p.grad for p in params], params)
            for param, grad in zip(params, means, strict=True):
                param.grad = grad

    def average(
        self, tensors: Sequence[torch.Tensor | None], like: Sequence[torch.Tensor]
    ) -> list[torch.Tensor | None]:
        """Each tensor's mean over the ranks that have it (None: this rank has none; `like`
        gives its shape); None where no rank has one. Two all-reduces: which tensors each rank
        has (tiny), then only those some rank has, in one flat buffer per dtype (a single-path
        step sends its path's gradients, not the whole supernet's)."""
        if not self.active:
            return list(tensors)
        flags = [float(t is not None) for t in tensors]
        present = torch.tensor(flags, dtype=torch.float32, device=self.device)
        dist.all_reduce(present)
        counts = present.tolist()
        result: list[torch.Tensor | None] = [None] * len(tensors)
        groups: dict[torch.dtype, list[int]] = {}
        for i, ref in enumerate(like):
            if counts[i] > 0:
                groups.setdefault(ref.dtype, []).append(i)
        for indices in groups.values():
            flat = torch.cat([_flat(tensors[i], like[i]) for i in indices])
            dist.all_reduce(flat)
            offset = 0
            for i in indices:
                size = like[i].numel()
                result[i] = flat[offset : offset + size].view_as(like[i]) / counts[i]
                offset += size
        return result

    def average_buffers(self, module: torch.nn.Module) -> None:
        """Average the floating-point buffers (batch-norm running statistics) over the ranks and
        give every rank rank 0's other buffers. A running average of per-rank means is the
        running average of the global mean, so doing this once per epoch equals doing it per
        step."""
        if not self.active:
            return
        buffers = list(module.buffers())
        floats = [b for b in buffers if b.is_floating_point()]
        with torch.no_grad():
            for buffer, mean in zip(floats, self.average(floats, floats), strict=True):
                assert mean is not None
                buffer.copy_(mean)
            for buffer in buffers:
                if not buffer.is_floating_point():
                    dist.broadcast(buffer, 0)

    def broadcast_states(self, *modules: torch.nn.Module) -> None:
        """Give every rank rank 0's parameters and buffers of `modules`."""
        if self.active:
            with torch.no_grad():
                for module in modules:
                    for tensor in module.state_dict().values():
                        dist.broadcast(tensor, 0)

    def check_in_step(self, name: str, *modules: torch.nn.Module) -> None:
        """Raise on every rank when `modules` differ between ranks (compared by a float64 sum
        of their parameters and buffers): a trainer whose step does not average its gradients
        or draws its decisions from a rank's own stream lets the replicas drift apart."""
        if not self.active:
            return
        with torch.no_grad():
            tensors = [t for m in modules for t in m.state_dict().values()]
            total = sum((t.double().sum() for t in tensors), torch.zeros((), dtype=torch.float64))
            ends = torch.stack([total, -total]).to(self.device)
            dist.all_reduce(ends, dist.ReduceOp.MAX)
        high, low = float(ends[0]), -float(ends[1])
        if high != low and not (math.isnan(high) or math.isnan(low)):  # NaN: a diverged run
            raise RuntimeError(
                f"the ranks' copies of the supernet and mutator differ after a {name} epoch: its "
                "steps must average gradients (`self.ranks.average_gradients`) and draw "
                "decisions in `with self.ranks.shared_random()` (see docs/oneshot.md)"
            )

    def average_metrics(self, values: Mapping[str, float]) -> dict[str, float]:
        """The mean of each metric over the ranks (every rank reports the same keys)."""
        if not self.active or not values:
            return dict(values)
        flat = torch.tensor(list(values.values()), dtype=torch.float64, device=self.device)
        dist.all_reduce(flat)
        return dict(zip(values, (flat / self.world_size).tolist(), strict=True))

    def mean(self, value: float) -> float:
        """`value` averaged over the ranks."""
        return self.average_metrics({"": value}).get("", value)

    def broadcast_object(self, value: T) -> T:
        """Rank 0's `value` (picklable), on every rank."""
        if not self.active:
            return value
        box: list[Any] = [value]
        dist.broadcast_object_list(box, 0)
        result: T = box[0]
        return result

    def map(self, function: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """`[function(x) for x in items]`, the items split round-robin over the ranks (each
        works alone, see `local`) and the results gathered on every rank."""
        if not self.active:
            return [function(item) for item in items]
        mine: dict[int, Any] = {}
        error = None
        with self.local():
            try:
                for i in range(self.rank, len(items), self.world_size):
                    mine[i] = function(items[i])
            except Exception as exc:  # every rank must reach the gather: raised after it
                error = f"rank {self.rank}: {type(exc).__name__}: {exc}"
        gathered: list[Any] = [None] * self.world_size
        dist.all_gather_object(gathered, (mine, error))
        errors = [e for _, e in gathered if e is not None]
        if errors:
            raise RuntimeError("; ".join(errors))
        merged = {i: r for part, _ in gathered for i, r in part.items()}
        return [merged[i] for i in range(len(items))]

    def sampler(self, dataset: Dataset[Any], shuffle: bool) -> DistributedSampler[Any] | None:
        """This rank's shard of `dataset` (None on one rank)."""
        if not self.active:
            return None
        return _Shard(self, dataset, shuffle)


class _Shard(DistributedSampler[Any]):
    """DistributedSampler whose every pass is a new shuffle, seeded from the shared stream (as
    a shuffling DataLoader draws its seed from the global generator per pass); the ranks split
    one permutation, padded to equal shares."""

    def __init__(self, ranks: Ranks, dataset: Dataset[Any], shuffle: bool) -> None:
        super().__init__(dataset, ranks.world_size, ranks.rank, shuffle=shuffle)
        self.ranks = ranks

    def __iter__(self) -> Iterator[Any]:
        if self.shuffle:
            with self.ranks.shared_random():
                self.set_epoch(int(torch.randint(2**31, ())))
        return super().__iter__()


def _flat(tensor: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor:
    if tensor is None:
        return torch.zeros(like.numel(), dtype=like.dtype, device=like.device)
    return tensor.detach().reshape(-1)


def _stream(device: torch.device) -> dict[str, Any]:
    """The global generators' state that a search draws from on `device`."""
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "python": random.getstate(),
        "numpy": np.random.get_state(),
    }
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def _set_stream(state: Mapping[str, Any], device: torch.device) -> None:
    torch.set_rng_state(state["torch"].cpu())
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    if "cuda" in state and device.type == "cuda":
        torch.cuda.set_rng_state(state["cuda"].cpu(), device)


@contextlib.contextmanager
def _isolated(device: torch.device) -> Iterator[None]:
    saved = _stream(device)
    try:
        yield
    finally:
        _set_stream(saved, device)


def _seed_all(seed: int) -> None:
    torch.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
