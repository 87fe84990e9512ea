"""`open_storage`: a store from what a user writes in a config or on the command line."""

from __future__ import annotations

import os
import re
from pathlib import Path

from archsearch.space import archsearch_home, shorten
from archsearch.storage.base import Storage
from archsearch.storage.schema import Mode
from archsearch.storage.sqlite import SQLiteStorage

DEFAULT_FILE = "experiments.db"
"""The file name used under `archsearch_home()` or inside a folder given as the storage."""

SQLITE_PREFIX = "sqlite:///"
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")

StorageSpec = str | os.PathLike[str] | Storage | None
"""What `open_storage` accepts."""


def open_storage(spec: StorageSpec = None, *, mode: Mode = "rwc") -> Storage:
    """The store that `spec` names.

    - None: `archsearch_home() / "experiments.db"` (`$ARCHSEARCH_HOME`, else `~/.archsearch`);
    - a `Storage`: returned as it is;
    - a path (str or PathLike; `~` expanded): an SQLite file there, or `experiments.db` inside
      it when it is an existing folder or ends with a slash;
    - `sqlite:///PATH`: as SQLAlchemy reads it, `sqlite:///runs/x.db` is relative to the working
      folder and `sqlite:////abs/x.db` is absolute.

    Missing parent folders are created. Other URL schemes raise ValueError. `mode` is
    `SQLiteStorage`'s: "rwc" (the runner) creates or migrates; a reader passes "ro" and
    opens an existing store without changing anything.
    """
    if isinstance(spec, Storage):
        return spec
    path = storage_file(spec)
    assert path is not None  # only a Storage has no file
    return SQLiteStorage(path, mode=mode)


def storage_file(spec: StorageSpec = None) -> Path | None:
    """The database file that `open_storage(spec)` would open, without opening or creating
    anything (None for a `Storage` object). Read-only tools use it to refuse a path that holds
    no store instead of creating an empty one there."""
    if isinstance(spec, Storage):
        return None
    if spec is None:
        return archsearch_home() / DEFAULT_FILE
    if isinstance(spec, os.PathLike):
        return _as_file(os.fspath(spec))
    if not isinstance(spec, str):
        raise TypeError(
            "storage must be a path, 'sqlite:///path', a Storage or None; "
            f"got {type(spec).__name__}"
        )
    return _as_file(_path_of(spec))


def _path_of(spec: str) -> str:
    if spec.startswith(SQLITE_PREFIX):
        path = spec[len(SQLITE_PREFIX) :]
        if not path or path == ":memory:" or "?" in path:
            raise ValueError(
                f"storage {shorten(spec)} names no database file; write sqlite:///relative/path.db "
                "or sqlite:////absolute/path.db (query options and :memory: are not supported)"
            )
        return path
    if _URL.match(spec):
        raise ValueError(
            f"unsupported storage {shorten(spec)}: use a file path or sqlite:///path "
            "(sqlite:///relative.db, sqlite:////absolute.db); only SQLite is supported"
        )
    if not spec.strip() or spec == ":memory:" or spec.startswith("file:"):
        raise ValueError(
            f"storage {shorten(spec)} needs a file path or sqlite:///path, not an empty string, "
            ":memory: or a file: URI (every trial worker opens the file itself)"
        )
    return spec


def _as_file(path: str) -> Path:
    """The database file for `path`: inside it when it is (or is written as) a folder."""
    result = Path(path).expanduser()
    if path.endswith(("/", os.sep)) or result.is_dir():
        return result / DEFAULT_FILE
    return result
