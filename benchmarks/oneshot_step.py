"""One-shot training steps run as fast as the same step written by hand in plain PyTorch.

The network is an MNIST-1D-like CNN on a 64×1×40 batch: a stem (conv 5, BN, ReLU), three blocks
that are each a LayerChoice of four candidates — conv kernel 3, 5, 7 and a dilated (2) conv 3,
each followed by BN and ReLU — at width 32, then a linear head over the flattened features.

- `darts_weight_step`: the weight half of `DartsTrainer.train_step` (its architecture step is
  switched off on the instance): forward through the softmax-weighted mixture of every candidate,
  backward to the weights, gradient clipping, SGD step. Baseline: a hand-written supernet
  (`nn.ModuleList` of the same candidates, `sum(w[i] * op(x))` with `softmax(alpha)` computed in
  forward) with the same weights and alphas, doing the same step. Time and peak memory are
  compared.
- `enas_child_step`, `spos_step`, `random_step` (and `gdas_step` when `archsearch.oneshot.gdas`
  exists): the trainer's `train_step`, which samples a path with its mutator's `reset()` (ENAS:
  `next_child_path()`, the next of 64 paths drawn at once by a batched controller walk, which
  one step in 64 includes), then runs forward, backward and the optimizer step. Baseline: the
  fixed subnet of the very path that step samples (`archsearch.fix(model, arch,
  inherit_weights=True)`, plain torch), built before the timed region each round, with its own
  optimizer of the same settings, doing the same step.
- `spos_step_value_choice`, `random_step_value_choice`: the same network with the width a
  `ValueChoice([16, 32, 48])` shared by every conv, BN and the head (the trainers turn these layers
  into weight-sharing ones, `archsearch.oneshot.sliced.to_supernet`); baseline as above, at the
  sampled width and kernels.

Which path a step will sample is read beforehand by running the mutator's `reset()` (ENAS:
`next_child_path()`) once and putting every random generator and ENAS' queue of pre-sampled paths
back, so the timed step draws the same path; every round checks
afterwards that it did (`same_arch`). Steps alternate AB/BA round by round, timed with
`time.perf_counter`; the ratio is the median of the per-round ratios (single-path `_ms` figures
are medians over rounds that sample different paths; `ratio_by_width` splits the value-choice
ratios by the width sampled). Target for every figure: ratio <= 1.10 (and peak-memory ratio <=
1.10 for DARTS), but ratio <= 1.05 for the two value-choice figures (issue 12).

Peak memory of one step (DARTS): on CUDA, `torch.cuda.max_memory_allocated` above what was
allocated when the step began. On CPU, `torch.profiler` with `profile_memory=True` records every
allocation and free of the CPU allocator; the peak is the largest running sum of the bytes
allocated *during* the step and still alive (gradients of the previous step are released before
profiling starts, so both sides begin from the same state). This counts tensor memory exactly and
deterministically, unlike the process' resident size, which the allocator's caching blurs.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from common import Comparison, compare, emit, parse_args, setup, time_once
from torch.utils.data import TensorDataset

import archsearch
import archsearch.nn as nn
from archsearch.mutator import Mutator
from archsearch.oneshot import DartsTrainer, EnasTrainer, RandomTrainer, SposTrainer

BENCHMARK = "oneshot_step"
TARGET_RATIO = 1.10
SLICED_TARGET_RATIO = 1.05
"""Issue 12's bound for the single-path steps with a sliced ValueChoice width."""
BATCH, LENGTH, CLASSES = 64, 40, 10
WIDTH = 32
WIDTHS = [16, 32, 48]
BLOCKS = 3
CANDIDATES = ((3, 1), (5, 1), (7, 1), (3, 2))
"""(kernel, dilation) of each block's candidates."""
CLIP = 5.0
"""Gradient clipping of the DARTS and ENAS trainers (their default); baselines clip alike."""

Step = Callable[[], Any]
Width = int | nn.ValueChoice

# ----- the network -----------------------------------------------------------------------------


def conv_bn_relu(width: Width, kernel: int, dilation: int = 1) -> nn.Sequential:
    """A candidate: conv (same length out) → BN → ReLU, in archsearch.nn (value-choice aware)."""
    pad = dilation * (kernel - 1) // 2
    return nn.Sequential(
        nn.Conv1d(width, width, kernel, padding=pad, dilation=dilation),
        nn.BatchNorm1d(width),
        nn.ReLU(),
    )


class SpaceNet(nn.Module):
    """The model space: three blocks of four candidates each (4³ paths; ×3 widths when `width` is
    a ValueChoice)."""

    def __init__(self, width: Width) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv1d(1, width, 5, padding=2), nn.BatchNorm1d(width), nn.ReLU()
        )
        self.blocks = nn.Sequential(
            *(
                nn.LayerChoice([conv_bn_relu(width, k, d) for k, d in CANDIDATES])
                for _ in range(BLOCKS)
            )
        )
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(width * LENGTH, CLASSES))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.stem(x)))


def plain_conv_bn_relu(width: int, kernel: int, dilation: int = 1) -> torch.nn.Sequential:
    pad = dilation * (kernel - 1) // 2
    return torch.nn.Sequential(
        torch.nn.Conv1d(width, width, kernel, padding=pad, dilation=dilation),
        torch.nn.BatchNorm1d(width),
        torch.nn.ReLU(),
    )


class PlainMixedOp(torch.nn.Module):
    """A DARTS mixed op by hand: the softmax-weighted sum of every candidate's output."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.ops = torch.nn.ModuleList(plain_conv_bn_relu(width, k, d) for k, d in CANDIDATES)
        self.alpha = torch.nn.Parameter(1e-3 * torch.randn(len(CANDIDATES)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = torch.softmax(self.alpha, dim=-1)
        return sum(w[i] * op(x) for i, op in enumerate(self.ops))


class PlainSupernet(torch.nn.Module):
    """SpaceNet's DARTS supernet by hand, at width 32."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = torch.nn.Sequential(
            torch.nn.Conv1d(1, WIDTH, 5, padding=2), torch.nn.BatchNorm1d(WIDTH), torch.nn.ReLU()
        )
        self.blocks = torch.nn.Sequential(*(PlainMixedOp(WIDTH) for _ in range(BLOCKS)))
        self.head = torch.nn.Sequential(
            torch.nn.Flatten(), torch.nn.Linear(WIDTH * LENGTH, CLASSES)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.stem(x)))

    def weights(self) -> list[torch.nn.Parameter]:
        return [p for name, p in self.named_parameters() if not name.endswith("alpha")]


def plain_state(space_state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """SpaceNet's state dict under PlainSupernet's names (`blocks.0.2.…` → `blocks.0.ops.2.…`)."""
    return {re.sub(r"^blocks\.(\d+)\.", r"blocks.\1.ops.", k): v for k, v in space_state.items()}


# ----- steps -----------------------------------------------------------------------------------


def accuracy(output: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
    """The metrics both sides compute every step (the trainers call theirs in train_step)."""
    return {"acc": float((output.argmax(1) == target).float().mean())}


def sgd(params: Any) -> torch.optim.SGD:
    return torch.optim.SGD(params, lr=0.025, momentum=0.9, weight_decay=3e-4)


def plain_step(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    clip: float | None = None,
    weights: list[torch.nn.Parameter] | None = None,
) -> dict[str, float]:
    """A training step written by hand: what the trainers' weight steps do, in plain torch."""
    optimizer.zero_grad()
    output = model(x)
    loss = F.cross_entropy(output, y)
    if weights is None:
        loss.backward()
    else:
        loss.backward(inputs=weights)
    if clip is not None:
        torch.nn.utils.clip_grad_norm_(model.parameters() if weights is None else weights, clip)
    optimizer.step()
    return {"loss": loss.item(), **accuracy(output.detach(), y)}


# ----- measuring -------------------------------------------------------------------------------


def paired(
    prepare: Callable[[], tuple[Step, Step]],
    *,
    rounds: int,
    warmup: int,
    check: Callable[[bool], None] | None = None,
) -> tuple[Comparison, list[float]]:
    """Like `common.compare`, but `prepare()` builds a fresh (candidate, baseline) pair before
    every round, outside the timed region; `check(timed)` runs after each round, also untimed
    (`timed` is False during warm-up). Returns the summary and the per-round ratios."""
    cand: list[float] = []
    base: list[float] = []
    for r in range(warmup + rounds):
        candidate, baseline = prepare()
        if r % 2 == 0:
            c, b = time_once(candidate), time_once(baseline)
        else:
            b, c = time_once(baseline), time_once(candidate)
        if check is not None:
            check(r >= warmup)
        if r >= warmup:
            cand.append(c)
            base.append(b)
    ratios = [c / b for c, b in zip(cand, base, strict=True)]
    summary = Comparison(
        candidate_s=statistics.median(cand),
        baseline_s=statistics.median(base),
        ratio=statistics.median(ratios),
        rounds=rounds,
    )
    return summary, ratios


def peak_bytes(step: Step, before: Callable[[], None], device: torch.device) -> int:
    """Peak tensor memory allocated by one call of `step` (see the module docstring)."""
    before()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        start = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        step()
        torch.cuda.synchronize(device)
        return torch.cuda.max_memory_allocated(device) - start
    from torch._C._profiler import _EventType
    from torch.profiler import ProfilerActivity, profile

    with quiet_stderr(), profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        step()
    allocations: list[tuple[int, int]] = []
    pending = list(prof.profiler.kineto_results.experimental_event_tree())
    while pending:
        event = pending.pop()
        if event.tag == _EventType.Allocation and event.extra_fields.device.type == "cpu":
            allocations.append((event.start_time_ns, event.extra_fields.alloc_size))
        pending.extend(event.children)
    live = peak = 0
    for _, size in sorted(allocations):
        live += size
        peak = max(peak, live)
    return peak


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Hide what is written to file descriptor 2 (the profiler's start/stop notices)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def peek(mutator: Mutator, sample: Step | None = None) -> dict[str, Any]:
    """The path the mutator's next `reset()` (or `sample()`, the trainer's own way of sampling
    it) will sample, leaving every generator and ENAS' pre-sampled paths as they were."""
    python_state = random.getstate()
    own = getattr(mutator, "rng", None)
    own_state = own.getstate() if isinstance(own, random.Random) else None
    queued = getattr(mutator, "queued", None)  # ENAS: paths drawn ahead (an immutable tuple)
    torch_state = torch.get_rng_state()
    cuda_state = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
    with torch.no_grad():
        (sample or mutator.reset)()
    arch = current(mutator)
    random.setstate(python_state)
    if isinstance(own, random.Random):
        own.setstate(own_state)
    if queued is not None:
        mutator.queued = queued  # type: ignore[assignment]
    torch.set_rng_state(torch_state)
    if cuda_state is not None:
        torch.cuda.set_rng_state_all(cuda_state)
    return arch


def current(mutator: Mutator) -> dict[str, Any]:
    """The mutator's current decision as a canonical architecture."""
    space = mutator.search_space
    return space.validate({label: mutator.decision_for(label).tolist() for label in space})


# ----- figures ---------------------------------------------------------------------------------


class Context:
    def __init__(self, quick: bool) -> None:
        self.quick = quick
        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        self.x = torch.randn(BATCH, 1, LENGTH, device=self.device)
        self.y = torch.randint(0, CLASSES, (BATCH,), device=self.device)
        self.data = TensorDataset(
            torch.randn(4 * BATCH, 1, LENGTH), torch.randint(0, CLASSES, (4 * BATCH,))
        )
        self.log_dir = tempfile.mkdtemp(prefix="oneshot_step-")

    def trainer(self, cls: type, model: torch.nn.Module, **kwargs: Any) -> Any:
        """A trainer of `cls` with the benchmark's loss, metrics, optimizer and data."""
        optimizer = sgd(model.parameters())
        head: tuple[Any, ...] = (model, F.cross_entropy, accuracy)
        if cls is EnasTrainer:
            head = (*head, accuracy_reward)
            kwargs.setdefault("grad_clip", CLIP)
        return cls(
            *head,
            optimizer,
            1,
            self.data,
            self.data,
            batch_size=BATCH,
            device=self.device,
            log_dir=self.log_dir,
            **kwargs,
        )

    def emit(
        self, figure: str, result: Comparison, bound: float = TARGET_RATIO, **fields: Any
    ) -> None:
        time_pass = result.ratio <= bound
        extra: dict[str, Any] = {"target": f"ratio <= {bound}", "pass": time_pass}
        extra.update(fields)
        emit(
            BENCHMARK,
            figure=figure,
            batch=f"{BATCH}x1x{LENGTH}",
            archsearch_ms=result.candidate_s * 1e3,
            baseline_ms=result.baseline_s * 1e3,
            ratio=result.ratio,
            **extra,
            clock="perf_counter",
            device=self.device.type,
            rounds=result.rounds,
            quick=self.quick,
        )


def accuracy_reward(output: torch.Tensor, target: torch.Tensor) -> float:
    return accuracy(output, target)["acc"]


def darts_figure(ctx: Context) -> None:
    model = SpaceNet(WIDTH)
    trainer = ctx.trainer(DartsTrainer, model, grad_clip=CLIP)
    # Time only the weight half of the trainer's own train_step.
    trainer.arch_step = lambda *_: float("nan")
    plain = PlainSupernet().to(ctx.device)
    missing, unexpected = plain.load_state_dict(plain_state(model.state_dict()), strict=False)
    assert not unexpected and all(k.endswith("alpha") for k in missing), (missing, unexpected)
    with torch.no_grad():
        for i, op in enumerate(plain.blocks):
            op.alpha.copy_(trainer.mutator.alphas[f"blocks.{i}"])
    plain_optimizer = sgd(plain.weights())
    x, y = ctx.x, ctx.y
    with torch.no_grad():  # train mode on both, so both update their BN statistics alike
        same_output = torch.allclose(model(x), plain(x), rtol=1e-5, atol=1e-6)

    def candidate() -> Any:
        return trainer.train_step(((x, y), (x, y)))

    def baseline() -> Any:
        return plain_step(plain, plain_optimizer, x, y, CLIP, plain.weights())

    rounds = 3 if ctx.quick else 400
    result = compare(
        candidate, baseline, rounds=rounds, warmup=2 if ctx.quick else 10, collect=False
    )
    repeats = 1 if ctx.quick else 3
    peaks = [
        (
            peak_bytes(candidate, trainer.optimizer.zero_grad, ctx.device),
            peak_bytes(baseline, plain_optimizer.zero_grad, ctx.device),
        )
        for _ in range(repeats)
    ]
    cand_peak = statistics.median(c for c, _ in peaks)
    base_peak = statistics.median(b for _, b in peaks)
    peak_ratio = cand_peak / base_peak
    time_pass = result.ratio <= TARGET_RATIO
    peak_pass = peak_ratio <= TARGET_RATIO
    ctx.emit(
        "darts_weight_step",
        result,
        target=f"ratio <= {TARGET_RATIO} and peak_ratio <= {TARGET_RATIO}",
        **{"pass": time_pass and peak_pass},
        time_pass=time_pass,
        archsearch_peak_mb=cand_peak / 2**20,
        baseline_peak_mb=base_peak / 2**20,
        peak_ratio=peak_ratio,
        peak_pass=peak_pass,
        memory="cuda.max_memory_allocated" if ctx.device.type == "cuda" else "profiler_allocations",
        same_output=same_output,
    )


@dataclass(frozen=True)
class SinglePath:
    """A single-path figure: the trainer, whether its baseline clips, whether its `train_step`
    takes a (weight batch, architecture batch) pair (GDAS), and how it samples its path."""

    figure: str
    trainer: Any
    clip: float | None = None
    paired_batch: bool = False
    sample: str = "reset"
    """The trainer's method that samples its step's path (default: the mutator's `reset`)."""
    bound: float = TARGET_RATIO


def single_path_figure(ctx: Context, case: SinglePath, rounds: int) -> None:
    """Time `trainer.train_step` against a plain step of the fixed subnet it samples."""
    x, y = ctx.x, ctx.y
    trainer, clip = case.trainer, case.clip
    mutator: Mutator = trainer.mutator
    batch = ((x, y), (x, y)) if case.paired_batch else (x, y)
    sample = None if case.sample == "reset" else getattr(trainer, case.sample)
    expected: dict[str, Any] = {}
    mismatches = 0
    widths: list[int] = []

    def candidate() -> Any:
        return trainer.train_step(batch)

    def prepare() -> tuple[Step, Step]:
        expected.clear()
        expected.update(peek(mutator, sample))
        fixed = archsearch.fix(trainer.model, expected, inherit_weights=True)
        optimizer = sgd(fixed.parameters())
        # One untimed step first: the baseline runs in steady state, as the supernet does.
        plain_step(fixed, optimizer, x, y, clip)
        return candidate, lambda: plain_step(fixed, optimizer, x, y, clip)

    def check(timed: bool) -> None:
        nonlocal mismatches
        mismatches += current(mutator) != expected
        if timed and "width" in expected:
            widths.append(expected["width"])

    result, ratios = paired(prepare, rounds=rounds, warmup=2 if ctx.quick else 10, check=check)
    extra: dict[str, Any] = {}
    if widths:  # the relative cost of weight sharing depends on the width sampled
        by_width = {w: [r for r, v in zip(ratios, widths, strict=True) if v == w] for w in widths}
        extra["ratio_by_width"] = {
            str(w): round(statistics.median(by_width[w]), 4) for w in sorted(by_width)
        }
    ctx.emit(case.figure, result, case.bound, same_arch=mismatches == 0, **extra)


def single_path_figures(ctx: Context) -> None:
    cases = [
        SinglePath(
            "enas_child_step",
            ctx.trainer(EnasTrainer, SpaceNet(WIDTH)),
            CLIP,
            sample="next_child_path",
        ),
        SinglePath("spos_step", ctx.trainer(SposTrainer, SpaceNet(WIDTH), seed=0)),
        SinglePath("random_step", ctx.trainer(RandomTrainer, SpaceNet(WIDTH), seed=0)),
    ]
    gdas = gdas_trainer(ctx)
    if gdas is not None:
        cases.append(SinglePath("gdas_step", gdas, CLIP, paired_batch=True))
    for name, cls in (("spos", SposTrainer), ("random", RandomTrainer)):
        model = SpaceNet(nn.ValueChoice(WIDTHS, label="width"))
        trainer = ctx.trainer(cls, model, seed=0)
        cases.append(SinglePath(f"{name}_step_value_choice", trainer, bound=SLICED_TARGET_RATIO))
    for case in cases:
        single_path_figure(ctx, case, rounds=3 if ctx.quick else 500)


def gdas_trainer(ctx: Context) -> Any:
    """A GdasTrainer, its architecture step switched off (only the weight half of its
    train_step is timed), when `archsearch.oneshot.gdas` exists and imports; else None."""
    try:
        from archsearch.oneshot.gdas import GdasTrainer
    except ImportError as exc:
        print(f"{BENCHMARK}: no GDAS figure ({exc})", file=sys.stderr)
        return None
    trainer = ctx.trainer(GdasTrainer, SpaceNet(WIDTH), grad_clip=CLIP)
    trainer.arch_step = lambda *_: float("nan")
    return trainer


def main() -> None:
    args = parse_args(__doc__ or BENCHMARK)
    setup()
    ctx = Context(args.quick)
    start = time.perf_counter()
    darts_figure(ctx)
    single_path_figures(ctx)
    print(f"{BENCHMARK}: {time.perf_counter() - start:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
