"""Multi-trial experiments: the ask → submit → poll → tell loop, budgets, resume, export."""

from archsearch.experiment.config import ExperimentConfig
from archsearch.experiment.experiment import Experiment, RetiariiExeConfig, RetiariiExperiment
from archsearch.experiment.oneshot_record import RecordToStorage

__all__ = [
    "Experiment",
    "ExperimentConfig",
    "RecordToStorage",
    "RetiariiExeConfig",
    "RetiariiExperiment",
]
