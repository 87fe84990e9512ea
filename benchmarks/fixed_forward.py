"""A fixed model trains as fast as the same network written by hand in plain PyTorch.

An MNIST-1D-like CNN search space (a LayerChoice stem of three kernel sizes, a ValueChoice width
feeding Conv1d and Linear arguments, a Repeat of residual blocks that each choose a kernel) is
fixed to one architecture with `archsearch.fix`. The same network is written in plain torch.nn,
both load the same state dict, and one forward + backward pass on a 64×1×40 batch is timed for
each, interleaved. Target: archsearch / plain <= 1.02.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from common import compare, emit, parse_args, setup

import archsearch
import archsearch.nn as nn

BENCHMARK = "fixed_forward"
TARGET_RATIO = 1.02
BATCH, LENGTH, CLASSES = 64, 40, 10

BLOCK_KERNELS = (3, 5)
"""The architecture timed: kernel 5 stem, 32 channels, two blocks with kernels 3 and 5."""


class Block(nn.Module):
    """Residual 1-D conv block whose kernel size is a choice."""

    def __init__(self, width: nn.ValueChoice) -> None:
        super().__init__()
        self.op = nn.LayerChoice(
            [nn.Conv1d(width, width, 3, padding=1), nn.Conv1d(width, width, 5, padding=2)]
        )
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.act(self.op(x))


class SpaceNet(nn.Module):
    """The model space: 3 stems × 3 widths × depth 1–3 with a kernel choice per block."""

    def __init__(self) -> None:
        super().__init__()
        width = nn.ValueChoice([16, 32, 64], label="width")
        self.stem = nn.LayerChoice(
            [nn.Conv1d(1, width, k, padding=k // 2) for k in (3, 5, 7)], label="stem"
        )
        self.act = nn.ReLU()
        depth = nn.ValueChoice([1, 2, 3], label="depth")
        self.blocks = nn.Repeat(lambda: Block(width), depth)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(width * LENGTH, CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.flatten(self.blocks(self.act(self.stem(x)))))


class PlainBlock(torch.nn.Module):
    def __init__(self, width: int, kernel: int) -> None:
        super().__init__()
        self.op = torch.nn.Conv1d(width, width, kernel, padding=kernel // 2)
        self.act = torch.nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.act(self.op(x))


class PlainNet(torch.nn.Module):
    """The timed architecture of SpaceNet by hand; attribute names match, so state dicts load."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = torch.nn.Conv1d(1, 32, 5, padding=2)
        self.act = torch.nn.ReLU()
        self.blocks = torch.nn.Sequential(*(PlainBlock(32, k) for k in BLOCK_KERNELS))
        self.flatten = torch.nn.Flatten()
        self.fc = torch.nn.Linear(32 * LENGTH, CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.flatten(self.blocks(self.act(self.stem(x)))))


def choose(space: archsearch.SearchSpace) -> dict[str, object]:
    """The timed architecture in `space` (block labels are read from the space, not assumed)."""
    arch = space.default()
    arch.update(stem="1", width=32, depth=len(BLOCK_KERNELS))
    block_ops = [label for label in space if label.endswith(".op")]
    for label, kernel in zip(block_ops, BLOCK_KERNELS, strict=False):
        arch[label] = str((3, 5).index(kernel))
    return arch


def train_step(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> None:
    model.zero_grad(set_to_none=True)
    F.cross_entropy(model(x), y).backward()


def main() -> None:
    args = parse_args(__doc__ or BENCHMARK)
    setup()
    space_net = SpaceNet()
    fixed = archsearch.fix(space_net, choose(archsearch.search_space(space_net)))
    plain = PlainNet()
    plain.load_state_dict(fixed.state_dict())  # strict: same keys, same shapes
    x = torch.randn(BATCH, 1, LENGTH)
    y = torch.randint(0, CLASSES, (BATCH,))
    with torch.no_grad():
        same_output = torch.equal(fixed(x), plain(x))
    leftovers = sum(type(m).__module__.startswith("archsearch") for m in fixed.modules())

    # One call per timed block and many rounds: the finest interleaving, so load from other jobs
    # hits both sides alike (an A/A run of plain vs plain scatters by about ±0.5% this way).
    rounds = 5 if args.quick else 1500
    result = compare(
        lambda: train_step(fixed, x, y),
        lambda: train_step(plain, x, y),
        rounds=rounds,
        warmup=2 if args.quick else 20,
        collect=False,
    )
    emit(
        BENCHMARK,
        figure="forward_backward",
        batch=f"{BATCH}x1x{LENGTH}",
        archsearch_ms=result.candidate_s * 1e3,
        baseline_ms=result.baseline_s * 1e3,
        ratio=result.ratio,
        target=f"ratio <= {TARGET_RATIO}",
        **{"pass": result.ratio <= TARGET_RATIO},
        clock="perf_counter",
        same_output=same_output,
        archsearch_modules_in_fixed=leftovers,
        rounds=result.rounds,
        quick=args.quick,
    )


if __name__ == "__main__":
    main()
