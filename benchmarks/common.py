"""Shared conventions for archsearch benchmarks.

Every benchmark is a standalone script that prints one JSON line per figure through `emit`:

    {"benchmark": "fixed_forward", "figure": "forward_backward", "archsearch_ms": 1.93,
     "baseline_ms": 1.92, "ratio": 1.004, "target": "ratio <= 1.02", "pass": true, ...}

Keys carry their unit (`_ms`, `_s`, `_us_per_choice`); `ratio` is archsearch / baseline. A figure
with a target also has `"pass"`; a missed target is reported, never raised, so the script still
exits 0. The baseline is always measured in the same run, interleaved with the candidate, because
the machines these run on are shared and absolute times drift.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

REQUIRED_KEYS = ("benchmark", "figure")
"""Keys every line has; a line with "target" also has a bool "pass"."""


def emit(benchmark: str, **fields: Any) -> dict[str, Any]:
    """Print one figure as a single JSON line (flushed at once) and return it.

    `fields` must include `figure`; floats are rounded to 4 significant digits for readability.
    """
    if "figure" not in fields:
        raise ValueError("emit() needs a figure=... field")
    if "target" in fields and not isinstance(fields.get("pass"), bool):
        raise ValueError("a figure with a target needs a bool pass=... field")
    line = {"benchmark": benchmark, **{k: _tidy(v) for k, v in fields.items()}}
    print(json.dumps(line), flush=True)
    return line


def _tidy(value: Any) -> Any:
    return float(f"{value:.4g}") if isinstance(value, float) else value


def parse_args(description: str) -> argparse.Namespace:
    """The command line every benchmark accepts: `--quick` for a fast smoke run."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--quick", action="store_true", help="a fast smoke run: small sizes, few rounds"
    )
    return parser.parse_args()


def setup() -> None:
    """Make timings comparable: one intra-op thread (other jobs share the cores), fixed seed."""
    import torch

    torch.set_num_threads(1)
    torch.manual_seed(0)


@dataclass(frozen=True)
class Comparison:
    """Median seconds per call of a candidate and its baseline, timed in alternation."""

    candidate_s: float
    baseline_s: float
    ratio: float
    """Median of the per-round ratios candidate / baseline (paired, so drift between rounds
    cancels out)."""
    rounds: int


def compare(
    candidate: Callable[[], Any],
    baseline: Callable[[], Any],
    *,
    rounds: int,
    number: int = 1,
    warmup: int = 1,
    collect: bool = True,
    clock: Callable[[], float] = time.perf_counter,
) -> Comparison:
    """Time `candidate` against `baseline` over `rounds` rounds and return the medians.

    Each round times `number` calls of each callable; the order inside a round alternates (AB, BA,
    AB, ...) so neither side always runs first. With `collect`, garbage is collected at the start
    of each round (a full collection costs ~0.1 s with torch loaded, so leave it off for
    millisecond-scale calls). A call's result is freed only after its time is taken. `clock` is
    any seconds counter; `time.thread_time` ignores time spent descheduled by other jobs.
    """
    if rounds < 1 or number < 1:
        raise ValueError("rounds and number must be at least 1")
    for _ in range(warmup):
        candidate()
        baseline()
    cand: list[float] = []
    base: list[float] = []
    for r in range(rounds):
        if collect:
            gc.collect()
        if r % 2 == 0:
            cand.append(time_once(candidate, number, clock))
            base.append(time_once(baseline, number, clock))
        else:
            base.append(time_once(baseline, number, clock))
            cand.append(time_once(candidate, number, clock))
    ratios = [c / b for c, b in zip(cand, base, strict=True) if b > 0]
    return Comparison(
        candidate_s=statistics.median(cand),
        baseline_s=statistics.median(base),
        ratio=statistics.median(ratios) if ratios else float("nan"),
        rounds=rounds,
    )


def time_once(
    fn: Callable[[], Any], number: int = 1, clock: Callable[[], float] = time.perf_counter
) -> float:
    """Seconds per call of `fn`, averaged over `number` back-to-back calls."""
    result = None
    start = clock()
    for _ in range(number):
        result = fn()
    elapsed = clock() - start
    del result  # freeing a large result (a copied model) is not part of the call
    return elapsed / number
