"""Backends shared by the tests of a module: starting a worker imports torch (seconds)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from local_backends import started_local

from archsearch.execution import Backend, InlineBackend, LocalBackend
from archsearch.execution.threads import ThreadBackend


@pytest.fixture(scope="module")
def local_backend() -> Iterator[LocalBackend]:
    """Two warm workers for the whole test module; tests leave no trial running."""
    backend = started_local(2)
    yield backend
    backend.shutdown()


@pytest.fixture(scope="module", params=["inline", "local", "threads"])
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """Each backend in turn, for the contract every backend keeps."""
    made: Backend
    if request.param == "inline":
        made = InlineBackend()
    elif request.param == "local":
        made = started_local(2)
    else:
        made = ThreadBackend(2)
    yield made
    made.shutdown()
