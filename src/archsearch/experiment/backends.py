"""Choosing the execution backend an experiment config asks for."""

from __future__ import annotations

from archsearch.execution.base import Backend
from archsearch.experiment.config import ExperimentConfig


def make_backend(config: ExperimentConfig) -> Backend:
    """The backend `config.execution` names, sized by the config."""
    if config.execution == "inline":
        from archsearch.execution.inline import InlineBackend

        return InlineBackend()
    if config.execution == "local":
        from archsearch.execution.local import LocalBackend

        return LocalBackend(
            config.trial_concurrency,
            gpus=config.training_service.gpu_indices,
            gpus_per_trial=config.trial_gpu_number,
        )
    if config.execution == "threads":
        from archsearch.execution.threads import ThreadBackend

        return ThreadBackend(config.trial_concurrency)
    raise ValueError(
        f"execution={config.execution!r} is not available in this version; use 'inline' or 'local'"
    )
