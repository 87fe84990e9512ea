"""Suite-wide setup: experiments and caches go to a temporary ARCHSEARCH_HOME."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True, scope="session")
def archsearch_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = str(tmp_path_factory.mktemp("archsearch_home"))
    previous = os.environ.get("ARCHSEARCH_HOME")
    os.environ["ARCHSEARCH_HOME"] = home  # inherited by subprocesses started from tests
    yield home
    if previous is None:
        os.environ.pop("ARCHSEARCH_HOME", None)
    else:
        os.environ["ARCHSEARCH_HOME"] = previous
