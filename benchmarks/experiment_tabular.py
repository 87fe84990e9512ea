"""A 10,000-trial NAS-Bench-201 experiment, inline, with SQLite storage: the whole runner.

Every trial goes through the real path — the strategy's ask, `SearchSpace.validate`, storage
(add, start, finish), the inline backend's `run_job` with the tabular evaluator, the progress bar
and the strategy's tell. Target (issue 4): the 10,000 trials finish in < 60 s including storage.
Baseline in the same run: the same strategy and table driven by a bare ask → query → tell loop
(no storage, no backend), so the ratio is what the experiment machinery costs on top.
Also: the best architecture's 200-epoch CIFAR-10 test accuracy, as a sanity check.
"""

from __future__ import annotations

import os
import tempfile
import time

from common import emit, parse_args

from archsearch.evaluator.nb201_table import NasBench201Tabular, nb201_space
from archsearch.experiment import Experiment, ExperimentConfig
from archsearch.space import Trial, TrialStatus
from archsearch.strategy import Random

NAME = "experiment_tabular"


def bare_loop(trials: int, seed: int) -> float:
    """Seconds for the same strategy and lookups without the experiment machinery."""
    space = nb201_space()
    evaluator = NasBench201Tabular()
    strategy = Random(seed=seed)
    strategy.start(space, "maximize")
    history: list[Trial] = []
    started = time.perf_counter()
    for i in range(1, trials + 1):
        arch = space.validate(strategy.ask(space, history) or {})
        metrics = evaluator.query(arch)
        trial = Trial("bare", i, arch, TrialStatus.SUCCEEDED, metrics["default"], metrics)
        history.append(trial)
        strategy.tell(trial)
    return time.perf_counter() - started


def experiment_run(trials: int, seed: int, folder: str) -> tuple[float, Experiment]:
    experiment = Experiment(nb201_space(), NasBench201Tabular(), Random(seed=seed))
    config = ExperimentConfig(
        "inline", max_trial_number=trials, storage=os.path.join(folder, "bench.db")
    )
    started = time.perf_counter()
    experiment.run(config)
    return time.perf_counter() - started, experiment


def main() -> None:
    args = parse_args(__doc__ or "")
    trials = 300 if args.quick else 10_000
    try:
        NasBench201Tabular().query(nb201_space().default())  # load the table outside timing
    except FileNotFoundError as exc:  # a clone without ../shared: say so, crash nothing
        reason = str(exc).splitlines()[0]
        emit(NAME, figure="inline_tabular_experiment", skipped=reason, quick=args.quick)
        return
    baseline = bare_loop(trials, seed=0)
    with tempfile.TemporaryDirectory() as folder:
        seconds, experiment = experiment_run(trials, seed=0, folder=folder)
        stored = experiment.storage.trials(experiment.id or "")
        best = max(stored, key=lambda t: t.metric or 0.0)
    emit(
        NAME,
        figure="inline_tabular_experiment",
        trials=trials,
        stored_trials=len(stored),
        archsearch_s=seconds,
        baseline_s=baseline,
        ratio=seconds / baseline,
        archsearch_ms_per_trial=1000 * seconds / trials,
        best_test_acc_200ep=best.metrics.get("test_acc_200ep"),
        target="archsearch_s < 60 (10,000 trials)",
        **{"pass": seconds < 60 * trials / 10_000},
        quick=args.quick,
        clock="perf_counter",
    )


if __name__ == "__main__":
    main()
