"""Where archsearch keeps its files (experiments, one-shot runs, dataset caches)."""

from __future__ import annotations

import os
from pathlib import Path


def archsearch_home() -> Path:
    """`$ARCHSEARCH_HOME`, else `~/.archsearch` (following `HOME`)."""
    return Path(os.environ.get("ARCHSEARCH_HOME") or Path.home() / ".archsearch")
