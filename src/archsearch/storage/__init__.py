"""Experiments, trials and metrics in a database (torch-free)."""

from archsearch.storage.base import (
    ExperimentNotFoundError,
    ExperimentRecord,
    ExperimentStatus,
    MetricPoint,
    Storage,
)

__all__ = [
    "ExperimentNotFoundError",
    "ExperimentRecord",
    "ExperimentStatus",
    "MetricPoint",
    "Storage",
]
