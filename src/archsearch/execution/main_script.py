"""The user's script (`__main__`) in worker processes: imported when needed, never run past
the line that starts an experiment.

Objects defined in the script that started an experiment reach a worker by importing that
script there. multiprocessing would run the whole script as each worker starts, and NNI's
examples start their experiment at module level, without `if __name__ == "__main__":`, so every
worker would start the experiment again. Instead a worker starts without the script
(`main_not_inherited` while the process is started) and imports it the first time an object
needs it (`import_main`). While it is imported there, `Experiment.run` calls
`stop_if_importing_main`, which ends the import at that line: everything defined above it
(model classes, evaluation functions, data) is kept, nothing after it runs.

Shared by every backend whose trials run in other processes: `Ref.load` imports the script
there, and a backend starts its processes inside `main_not_inherited`.
"""

from __future__ import annotations

import contextlib
import sys
import types
from collections.abc import Iterator
from pathlib import Path

MAIN_NAME = "__mp_main__"
"""The name the script runs under in a worker (multiprocessing's), so its
`if __name__ == "__main__":` block does not run."""

_importing: str | None = None  # the script being imported by `import_main`, in this process


class ScriptImportStop(BaseException):
    """Ends the import of the user's script in a worker where it would start an experiment.

    A BaseException, so that a script's `except Exception:` does not swallow it."""


def stop_if_importing_main() -> None:
    """Raise `ScriptImportStop` while this process imports the user's script in a worker (called
    by `Experiment.run` and `Experiment.resume`); do nothing otherwise."""
    if _importing is not None:
        raise ScriptImportStop(f"import of {_importing} ends where it starts an experiment")


@contextlib.contextmanager
def main_not_inherited() -> Iterator[None]:
    """While a process is started in this block, multiprocessing does not make it import this
    process's `__main__` script (it reads `sys.modules["__main__"]` to decide; a bare module
    stands in for the few microseconds of `Process.start()`)."""
    main = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if main is None:
            del sys.modules["__main__"]
        else:
            sys.modules["__main__"] = main


def import_main(main_path: str) -> types.ModuleType:
    """Import the user's script at `main_path` as this process's `__main__` (under the name
    `__mp_main__`), stopping where it would start an experiment; return the module.

    Pickles that name `__main__.X` load after this. An error raised by the script itself
    propagates, and `__main__` is left as it was.
    """
    global _importing
    module = types.ModuleType(MAIN_NAME)
    module.__file__ = main_path
    previous = sys.modules.get("__main__")
    sys.modules["__main__"] = sys.modules[MAIN_NAME] = module
    code = compile(Path(main_path).read_bytes(), main_path, "exec")
    _importing = main_path
    try:
        exec(code, module.__dict__)
    except ScriptImportStop:
        pass
    except BaseException:
        del sys.modules[MAIN_NAME]
        if previous is not None:
            sys.modules["__main__"] = previous
        raise
    finally:
        _importing = None
    return module
