"""search_space() and fix() scale linearly with the number of choices in a model.

Models with 10, 100, 1,000 and 10,000 LayerChoices (each between nn.Linear(4, 4) and
nn.Identity, in an nn.ModuleList) are walked by `archsearch.search_space` and fixed by
`archsearch.fix`. Baselines, interleaved in the same run: `list(model.named_modules())` for
search_space (the module walk it cannot avoid) and `copy.deepcopy(model)` for fix (fix returns a
new model, so it copies). Times are this thread's CPU time, so waiting for a core on a shared
machine does not count. Targets at 1,000 choices: search_space < 0.2 s, fix < 0.5 s; growth
roughly linear: time per choice at 10,000 at most twice that at 100.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from typing import Any

import torch
from common import Comparison, compare, emit, parse_args, setup

import archsearch
import archsearch.nn as nn

BENCHMARK = "space_scaling"
TARGET_S = {"search_space": 0.2, "fix": 0.5}
"""Seconds allowed at TARGET_SIZE choices."""
TARGET_SIZE = 1000
GROWTH_SMALL = 100
GROWTH_TARGET = 2.0
"""Allowed ratio of per-choice time at the largest size to that at GROWTH_SMALL."""

FULL_ROUNDS = {10: 101, 100: 51, 1000: 11, 10000: 5}
QUICK_ROUNDS = {10: 3, 100: 3, 1000: 1}


def build(n: int) -> torch.nn.Module:
    """A model with `n` two-way LayerChoices (labels "0" … "n-1")."""
    return nn.ModuleList(nn.LayerChoice([nn.Linear(4, 4), nn.Identity()]) for _ in range(n))


def functions(
    model: torch.nn.Module, arch: dict[str, Any]
) -> dict[str, tuple[Callable[[], Any], Callable[[], Any], str]]:
    """Function name → (archsearch call, baseline call, baseline description)."""
    return {
        "search_space": (
            lambda: archsearch.search_space(model),
            lambda: list(model.named_modules()),
            "list(model.named_modules())",
        ),
        "fix": (
            lambda: archsearch.fix(model, arch),
            lambda: copy.deepcopy(model),
            "copy.deepcopy(model)",
        ),
    }


def main() -> None:
    args = parse_args(__doc__ or BENCHMARK)
    setup()
    schedule = QUICK_ROUNDS if args.quick else FULL_ROUNDS
    results: dict[str, dict[int, Comparison]] = {"search_space": {}, "fix": {}}
    for n, rounds in schedule.items():
        model = build(n)
        arch = archsearch.search_space(model).sample(0)
        for name, (candidate, baseline, described) in functions(model, arch).items():
            # A full collection costs ~0.1 s with torch loaded: worth it only for large models.
            # Thread CPU time: the targets are absolute, and on a shared machine wall time also
            # counts the time this process waits for a core.
            result = compare(
                candidate,
                baseline,
                rounds=rounds,
                warmup=1 if n < 1000 else 0,
                collect=n >= 1000,
                clock=time.thread_time,
            )
            results[name][n] = result
            target: dict[str, Any] = {}
            if n == TARGET_SIZE:
                limit = TARGET_S[name]
                target = {
                    "target": f"archsearch_ms < {limit * 1e3:g}",
                    "pass": result.candidate_s < limit,
                }
            emit(
                BENCHMARK,
                figure=f"{name}_{n}_choices",
                function=name,
                choices=n,
                archsearch_ms=result.candidate_s * 1e3,
                baseline_ms=result.baseline_s * 1e3,
                ratio=result.ratio,
                archsearch_us_per_choice=result.candidate_s * 1e6 / n,
                baseline_us_per_choice=result.baseline_s * 1e6 / n,
                baseline=described,
                clock="thread_time",
                **target,
                rounds=result.rounds,
                quick=args.quick,
            )
        del model
    largest = max(schedule)
    for name, by_size in results.items():
        small = by_size[GROWTH_SMALL].candidate_s / GROWTH_SMALL
        large = by_size[largest].candidate_s / largest
        emit(
            BENCHMARK,
            figure=f"{name}_growth",
            function=name,
            small_choices=GROWTH_SMALL,
            large_choices=largest,
            small_us_per_choice=small * 1e6,
            large_us_per_choice=large * 1e6,
            ratio=large / small,
            baseline_ratio=(by_size[largest].baseline_s / largest)
            / (by_size[GROWTH_SMALL].baseline_s / GROWTH_SMALL),
            target=f"ratio <= {GROWTH_TARGET:g}",
            **{"pass": large / small <= GROWTH_TARGET},
            quick=args.quick,
        )


if __name__ == "__main__":
    main()
