"""Starting local backends for the execution tests (not in conftest: test modules import it,
and every test folder's conftest is a module named "conftest")."""

from __future__ import annotations

from archsearch.execution import LocalBackend


def started_local(concurrency: int = 2, **options: object) -> LocalBackend:
    backend = LocalBackend(concurrency, **options)  # type: ignore[arg-type]
    assert backend.wait_ready(120), "local workers did not start"
    return backend
