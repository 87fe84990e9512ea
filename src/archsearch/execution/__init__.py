"""Where trials run: one small Backend interface, implemented inline, in threads, in local
worker processes and on Ray, and the table of backends an experiment config picks from by name."""

from archsearch.execution.base import (
    Backend,
    BackendConfig,
    Event,
    Job,
    MetricReport,
    TrialResult,
    TrialStarted,
    check_duration,
)
from archsearch.execution.inline import InlineBackend, TrialTimeout
from archsearch.execution.local import LocalBackend
from archsearch.execution.main_script import stop_if_importing_main
from archsearch.execution.ray_backend import RayBackend
from archsearch.execution.ray_config import RayConfig
from archsearch.execution.refs import NotTransferableError, Ref, Transfer
from archsearch.execution.threads import ThreadBackend
from archsearch.execution.worker import describe

BACKENDS: dict[str, type[Backend]] = {
    "inline": InlineBackend,
    "local": LocalBackend,
    "threads": ThreadBackend,
    "ray": RayBackend,
}
"""The backends `ExperimentConfig(execution=...)` may name. A backend of your own is one more
row (`BACKENDS["pool"] = PoolBackend`: see examples/custom_backend.py)."""

__all__ = [
    "BACKENDS",
    "Backend",
    "BackendConfig",
    "Event",
    "InlineBackend",
    "Job",
    "LocalBackend",
    "MetricReport",
    "NotTransferableError",
    "RayBackend",
    "RayConfig",
    "Ref",
    "ThreadBackend",
    "Transfer",
    "TrialResult",
    "TrialStarted",
    "TrialTimeout",
    "check_duration",
    "describe",
    "stop_if_importing_main",
]
