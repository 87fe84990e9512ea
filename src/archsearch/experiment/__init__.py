"""Multi-trial experiments: the ask → submit → poll → tell loop, budgets, resume, export.

`RecordToStorage` (a one-shot callback that records a supernet run for the dashboard) is loaded
on first use, so importing `Experiment` does not import every one-shot algorithm.
"""

from typing import TYPE_CHECKING, Any

from archsearch.experiment.config import ExperimentConfig
from archsearch.experiment.experiment import Experiment, RetiariiExeConfig, RetiariiExperiment

if TYPE_CHECKING:
    from archsearch.experiment.oneshot_record import RecordToStorage

__all__ = [
    "Experiment",
    "ExperimentConfig",
    "RecordToStorage",
    "RetiariiExeConfig",
    "RetiariiExperiment",
]


def __getattr__(name: str) -> Any:
    if name == "RecordToStorage":
        from archsearch.experiment.oneshot_record import RecordToStorage

        return RecordToStorage
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
