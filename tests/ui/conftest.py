"""A real SQLite store with a finished, a running and a hostile experiment and a recorded
one-shot DARTS run, served by a real uvicorn on 127.0.0.1 (one per test session)."""

from __future__ import annotations

from collections.abc import Iterator

import builders
import pytest
from builders import Store

from archsearch.storage import SQLiteStorage
from archsearch.ui import ServerHandle, serve_in_background


@pytest.fixture(scope="session")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    root = tmp_path_factory.mktemp("ui_store")
    storage = SQLiteStorage(root / "experiments.db")
    logs = root / "logs"
    builders.multi_trial(storage, logs, experiment_id="finished1", trials=40)
    builders.multi_trial(
        storage, logs, experiment_id="running1", name="live search", trials=6, running=True
    )
    builders.hostile(storage, logs)
    oneshot = builders.record_darts_run(storage, root / "darts")
    yield Store(root / "experiments.db", storage, logs, oneshot)
    storage.close()


@pytest.fixture(scope="session")
def server(store: Store) -> Iterator[ServerHandle]:
    """The dashboard over the store's path (it opens its own connections, read-only use)."""
    handle = serve_in_background(str(store.path), 0)
    yield handle
    handle.stop()


@pytest.fixture(scope="session")
def base_url(server: ServerHandle) -> str:
    return f"http://127.0.0.1:{server.port}"
