"""Experiments, trials and metrics in a database (torch-free)."""

from archsearch.storage.base import (
    ExperimentNotFoundError,
    ExperimentRecord,
    ExperimentStatus,
    MetricPoint,
    Storage,
)
from archsearch.storage.liveness import display_status, pid_alive
from archsearch.storage.open import open_storage, storage_file
from archsearch.storage.paging import SORT_KEYS
from archsearch.storage.schema import SCHEMA_VERSION, IncompatibleStorageError
from archsearch.storage.sqlite import SQLiteStorage

__all__ = [
    "SCHEMA_VERSION",
    "SORT_KEYS",
    "ExperimentNotFoundError",
    "ExperimentRecord",
    "ExperimentStatus",
    "IncompatibleStorageError",
    "MetricPoint",
    "SQLiteStorage",
    "Storage",
    "display_status",
    "open_storage",
    "pid_alive",
    "storage_file",
]
