"""Multi-trial search on Ray: the search of 05_multi_trial.py with execution="ray".

Without an address the experiment starts a local Ray (on 127.0.0.1, stopped at the end); with
one it runs the trials on that cluster, shipping this folder to its nodes. Each trial slot
is an actor holding `cpus_per_trial` CPUs and `gpus_per_trial` GPUs (0.5: two per GPU).

python examples/06_ray.py                            # local Ray, 2 slots, 12 trials
python examples/06_ray.py --address ray://head:10001 --gpus 0.5 --concurrency 8
python examples/06_ray.py --fast                     # smoke run used by the test suite
See docs/cluster.md.
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
    parser.add_argument("--address", default=None, help="a Ray cluster (default: local Ray)")
    parser.add_argument("--concurrency", type=int, default=2, help="trial slots")
    parser.add_argument("--gpus", type=float, default=0.0, help="GPUs per trial (fractions ok)")
    parser.add_argument("--storage", default=None, help="database (default ~/.archsearch)")
    args = parser.parse_args()

    evaluator = FunctionalEvaluator(
        train_and_evaluate, epochs=1 if args.fast else 6, train_size=300 if args.fast else 3500
    )
    strategy = RegularizedEvolution(population_size=6, sample_size=3, seed=0)
    experiment = Experiment(Mnist1dCNN, evaluator, strategy)
    config = ExperimentConfig(
        "ray",
        experiment_name="mnist1d-on-ray",
        trial_concurrency=args.concurrency,
        max_trial_number=2 if args.fast else 12,
        max_trial_duration="10m",
        storage=args.storage,
    )
    config.ray.address = args.address
    config.ray.gpus_per_trial = args.gpus
    config.ray.cpus_per_trial = 1
    experiment.run(config)

    trials = experiment.storage.trials(experiment.id or "")
    top = max((t for t in trials if t.metric is not None), key=lambda t: t.metric or 0.0)
    print(f"best architecture: {dict(top.arch)}")
    print(f"validation accuracy: {top.metric:.1f}%  ({top.metrics['test']:.1f}% test)")
    print(f"look at it: archsearch view {experiment.id}")


if __name__ == "__main__":
    main()
