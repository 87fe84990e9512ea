"""Multi-trial search on MNIST-1D: regularized evolution proposes architectures of the example
CNN space, each trial trains the fixed model in a worker process, SQLite keeps everything.

python examples/05_multi_trial.py          # 20 trials of 8 epochs, 2 workers (~2 minutes)
python examples/05_multi_trial.py --fast   # smoke run used by the test suite
"""

from __future__ import annotations

import argparse

from mnist1d_cnn import Mnist1dCNN, train_and_evaluate

from archsearch.evaluator.functional import FunctionalEvaluator
from archsearch.experiment import Experiment, ExperimentConfig
from archsearch.strategy import RegularizedEvolution


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="tiny run for tests")
    parser.add_argument("--trials", type=int, default=None)
    parser.add_argument("--storage", default=None, help="database (default ~/.archsearch)")
    args = parser.parse_args()
    trials = args.trials or (3 if args.fast else 20)
    epochs = 1 if args.fast else 8

    evaluator = FunctionalEvaluator(
        train_and_evaluate, epochs=epochs, train_size=500 if args.fast else 3500
    )
    strategy = RegularizedEvolution(population_size=8, sample_size=4, seed=0)
    experiment = Experiment(Mnist1dCNN, evaluator, strategy)
    config = ExperimentConfig(
        "local",
        experiment_name="mnist1d-evolution",
        trial_concurrency=2,
        max_trial_number=trials,
        max_trial_duration="10m",
        storage=args.storage,
    )
    experiment.run(config)

    (best,) = experiment.export_top_models(top_k=1)
    record = experiment.storage.trials(experiment.id or "")
    top = max((t for t in record if t.metric is not None), key=lambda t: t.metric or 0.0)
    print(f"best architecture: {best}")
    print(f"validation accuracy: {top.metric:.1f}%  ({top.metrics['test']:.1f}% test)")
    print(f"trials: {len(record)} stored in {experiment.storage.path}")  # type: ignore[attr-defined]
    print(f"look at it: archsearch view {experiment.id}")


if __name__ == "__main__":
    main()
