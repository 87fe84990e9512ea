"""Time of one ask + tell of each built-in multi-trial strategy (and the wrappers) after 1,000
and 10,000 finished trials.

Space: 6 five-way LayerChoices, a 2-of-4 InputChoice, an any-subset InputChoice over 3 inputs
and a 4-way ValueChoice (5^6 · 6 · 8 · 4 = 3,000,000 architectures). Each strategy is started,
told N finished trials of distinct random architectures (the resume path, so every strategy
sees the same history, which it never proposed) and asked once; then each timed call asks
for an architecture, records it as a finished trial (history grows by one) and tells it.
Baseline, interleaved in the same run: `space.sample()` alone. Times are this thread's CPU
time. Target at 10,000 trials, for every strategy (a driver feeding a cluster asks all the
time): ask + tell ≤ 5 ms. Random, GridSearch and RegularizedEvolution also have ≤ 1 ms at
both sizes (`target_fast`).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from common import compare, emit, parse_args

from archsearch.space import (
    Architecture,
    InputChoiceDim,
    LayerChoiceDim,
    SearchSpace,
    Trial,
    TrialStatus,
    ValueChoiceDim,
)
from archsearch.strategy import (
    TPE,
    ConstraintFilter,
    Deduplicate,
    GridSearch,
    PolicyBasedRL,
    Random,
    RegularizedEvolution,
    Strategy,
)

BENCHMARK = "strategy_speed"
TARGET_MS = 5.0
TARGET_AT = 10000
FAST_TARGET_MS = 1.0
FAST = ("Random", "GridSearch", "RegularizedEvolution")


def narrow(arch: Architecture) -> bool:
    """A constraint that three quarters of the space meets."""
    return arch["width"] != 128


STRATEGIES: dict[str, Callable[[], Strategy]] = {
    "Random": lambda: Random(seed=0),
    "GridSearch": lambda: GridSearch(seed=0),
    "RegularizedEvolution": lambda: RegularizedEvolution(seed=0),
    "PolicyBasedRL": lambda: PolicyBasedRL(seed=0),
    "TPE": lambda: TPE(seed=0),
    "TPE_univariate": lambda: TPE(seed=0, multivariate=False),
    "Deduplicate(RegularizedEvolution)": lambda: Deduplicate(
        RegularizedEvolution(dedup=False, seed=0), seed=0
    ),
    "ConstraintFilter(Random)": lambda: ConstraintFilter(Random(seed=0), narrow),
}

FULL = {"sizes": (1000, TARGET_AT), "rounds": 21, "number": 20}
QUICK = {"sizes": (100, 1000), "rounds": 3, "number": 5}


def build_space() -> SearchSpace:
    """The mixed space described in the module docstring."""
    layers = [LayerChoiceDim(f"op{i}", ("a", "b", "c", "d", "e")) for i in range(6)]
    return SearchSpace(
        [
            *layers,
            InputChoiceDim("skip", 4, 2, ("x0", "x1", "x2", "x3")),
            InputChoiceDim("any", 3, None, ("y0", "y1", "y2")),
            ValueChoiceDim("width", (16, 32, 64, 128)),
        ]
    )


def finished_history(space: SearchSpace, n: int) -> list[Trial]:
    """`n` finished trials of distinct random architectures, with random metrics."""
    rng = random.Random(1)
    seen: set[str] = set()
    history: list[Trial] = []
    while len(history) < n:
        arch = space.sample(rng)
        key = repr(arch)
        if key not in seen:
            seen.add(key)
            history.append(_finished(len(history), arch, rng.random()))
    return history


def _finished(trial_id: int, arch: dict[str, object], metric: float) -> Trial:
    return Trial("bench", trial_id, arch, TrialStatus.SUCCEEDED, metric=metric)


def prepared(name: str, space: SearchSpace, history: list[Trial]) -> tuple[Strategy, float]:
    """A strategy told every trial of `history` and asked once; and that resume time (s)."""
    strategy = STRATEGIES[name]()
    start = time.thread_time()
    strategy.start(space, "maximize")
    for trial in history:
        strategy.tell(trial)
    strategy.ask(space, history)
    return strategy, time.thread_time() - start


def step_function(
    strategy: Strategy, space: SearchSpace, history: list[Trial]
) -> Callable[[], None]:
    """One ask + tell: the proposal becomes a finished trial appended to the history."""
    rng = random.Random(2)

    def step() -> None:
        arch = strategy.ask(space, history)
        assert arch is not None, "the space is far from exhausted"
        trial = _finished(len(history), arch, rng.random())
        history.append(trial)
        strategy.tell(trial)

    return step


def main() -> None:
    args = parse_args(__doc__ or BENCHMARK)
    settings = QUICK if args.quick else FULL
    space = build_space()
    sample_rng = random.Random(3)
    for n in settings["sizes"]:
        base_history = finished_history(space, n)
        for name in STRATEGIES:
            history = list(base_history)
            strategy, resume_s = prepared(name, space, history)
            result = compare(
                step_function(strategy, space, history),
                lambda: space.sample(sample_rng),
                rounds=settings["rounds"],
                number=settings["number"],
                warmup=1,
                collect=False,
                clock=time.thread_time,
            )
            figure = {
                "figure": f"{name}_{n}_trials",
                "strategy": name,
                "finished_trials": n,
                "archsearch_ms": result.candidate_s * 1e3,
                "baseline_ms": result.baseline_s * 1e3,
                "baseline": "space.sample()",
                "ratio": result.ratio,
                "resume_ms": resume_s * 1e3,
                "rounds": result.rounds,
                "quick": args.quick,
                "clock": "thread_time",
            }
            ms = result.candidate_s * 1e3
            if n == TARGET_AT:
                figure["target"] = f"archsearch_ms <= {TARGET_MS}"
                figure["pass"] = ms <= TARGET_MS
            if name in FAST:
                figure["target_fast"] = f"archsearch_ms <= {FAST_TARGET_MS}"
                figure["pass_fast"] = ms <= FAST_TARGET_MS
            emit(BENCHMARK, **figure)


if __name__ == "__main__":
    main()
