"""Backends shared by the tests of a module: starting a worker imports torch (seconds)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from local_backends import started_local

from archsearch.execution import BACKENDS, Backend, LocalBackend, RayBackend
from archsearch.experiment import ExperimentConfig

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
EXAMPLE = "pool (examples/custom_backend.py)"


@pytest.fixture(scope="module")
def local_backend() -> Iterator[LocalBackend]:
    """Two warm workers for the whole test module; tests leave no trial running."""
    backend = started_local(2)
    yield backend
    backend.shutdown()


@pytest.fixture(scope="module", params=[*BACKENDS, EXAMPLE])
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """Each backend of the table in turn, built from a config as an experiment builds it, and
    the example of a backend of your own: the contract every backend keeps."""
    made: Backend
    if request.param == EXAMPLE:
        if str(EXAMPLES) not in sys.path:
            sys.path.append(str(EXAMPLES))  # where the pool's workers import it from too
        from custom_backend import PoolBackend

        made = PoolBackend(2)
    else:
        config = ExperimentConfig(request.param, trial_concurrency=2)
        made = BACKENDS[request.param].from_config(config)
    if isinstance(made, LocalBackend | RayBackend):
        assert made.wait_ready(120), f"{request.param} workers did not start"
    yield made
    made.shutdown()
