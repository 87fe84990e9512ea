"""Running annotated code: the `__main__` script and the modules it imports are spliced as
they load (nothing is written to disk, no `.pyc` of spliced code is cached), compiled under
their own file names so tracebacks show the user's lines.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import sys
import types
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from archsearch.annotation import runtime
from archsearch.annotation.launch import ROOT_ENV
from archsearch.annotation.space import read_module, scanned_folder
from archsearch.annotation.splice import RUNTIME_NAME, trial_source
from archsearch.annotation.text import PREFIX


def spliced_code(file: Path, root: Path, *, prefixed: bool) -> types.CodeType:
    """The compiled trial code of an annotated file."""
    source = file.read_text(encoding="utf-8")
    module = read_module(file, root, prefixed=prefixed)
    return compile(trial_source(source, module), str(file), "exec", dont_inherit=True)


class _Loader(importlib.machinery.SourceFileLoader):
    def __init__(self, fullname: str, path: str, root: Path, prefixed: bool) -> None:
        super().__init__(fullname, path)
        self.root = root
        self.prefixed = prefixed

    def get_code(self, fullname: str) -> types.CodeType:
        return spliced_code(Path(self.path), self.root, prefixed=self.prefixed)

    def exec_module(self, module: types.ModuleType) -> None:
        module.__dict__[RUNTIME_NAME] = runtime
        super().exec_module(module)


class AnnotationFinder(importlib.abc.MetaPathFinder):
    """Splices the annotated `.py` modules under `root` as they are imported."""

    def __init__(self, root: Path, *, prefixed: bool) -> None:
        self.root = root.resolve()
        self.prefixed = prefixed

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or not spec.origin or not spec.origin.endswith(".py"):
            return None
        file = Path(spec.origin).resolve()
        if self.root not in file.parents:
            return None
        folders = file.parent.relative_to(self.root).parts
        if not all(map(scanned_folder, folders)):
            return None  # e.g. a virtual environment inside the code folder: not the user's code
        if PREFIX not in file.read_text(encoding="utf-8", errors="replace"):
            return None
        spec.loader = _Loader(fullname, spec.origin, self.root, self.prefixed)
        return spec


def run_script(script: str | os.PathLike[str], args: Sequence[str] = ()) -> None:
    """Run an annotated script as `__main__` (what `python -m archsearch.annotation` does)."""
    file = Path(script).resolve()
    if not file.is_file():
        raise SystemExit(f"error: {script}: no such script")
    root_text = os.environ.get(ROOT_ENV)
    root = Path(root_text).resolve() if root_text else file.parent
    prefixed = bool(root_text)
    code = spliced_code(file, root, prefixed=prefixed)
    sys.meta_path.insert(0, AnnotationFinder(root, prefixed=prefixed))
    sys.argv = [str(script), *args]
    sys.path[0] = str(file.parent)
    main = types.ModuleType("__main__")
    namespace: dict[str, Any] = main.__dict__
    namespace.update(__file__=str(file), __builtins__=__builtins__, __cached__=None)
    namespace[RUNTIME_NAME] = runtime
    sys.modules["__main__"] = main
    exec(code, namespace)
