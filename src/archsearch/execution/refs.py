"""References to user objects that can cross a process boundary.

An importable object (a module-level class or function) travels as `module:qualname`; anything
else travels as a pickle. Objects defined in the user's script (`__main__`) are found again in
another process by importing that script under another name (`main_script.import_main`).
"""

from __future__ import annotations

import base64
import os
import pickle
import pickletools
import sys
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from archsearch.evaluator.serialize import import_reference, resolve
from archsearch.execution.main_script import import_main


class NotTransferableError(TypeError):
    """An object that is neither importable nor picklable, so no other process can get it."""


@dataclass(frozen=True)
class Ref:
    """A way to get an object: an import target, a pickle, or (in this process only) the object.

    `main_path` is the file of the user's script when the object (or its class) lives in
    `__main__`. Loaded objects are cached per process, so a worker unpickles an evaluator once,
    not once per trial.
    """

    target: str | None = None
    pickled: bytes | None = None
    main_path: str | None = None
    obj: Any = field(default=None, compare=False, repr=False)

    @classmethod
    def of(cls, obj: Any, what: str = "object", *, for_process: bool = False) -> Ref:
        """A transferable reference to `obj`; NotTransferableError naming `what` if impossible.

        With `for_process` (it is for a worker process, now), an object that lives in, or
        uses, a `__main__` without a file (a notebook, the REPL) is refused as well: no other
        process could import it, so every trial would fail there."""
        main_path = _main_path()
        target = import_reference(obj)
        if target is not None:
            if for_process and main_path is None and target.startswith("__main__:"):
                raise _interactive(what, obj)
            return cls(target=target, main_path=main_path, obj=obj)
        try:
            data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            raise NotTransferableError(
                f"the {what} {obj!r} cannot be sent to another process: it is not importable "
                f"(define it at module level) and not picklable ({type(exc).__name__}: {exc}). "
                "Use execution='inline', or make it picklable (no lambdas, open files or local "
                "classes inside)."
            ) from exc
        if for_process and main_path is None and _names_main(data):
            raise _interactive(what, obj)
        return cls(pickled=data, main_path=main_path, obj=obj)

    @classmethod
    def live(cls, obj: Any) -> Ref:
        """A reference usable only in this process (the inline backend)."""
        return cls(obj=obj)

    def load(self) -> Any:
        """The object: the live one if this process made the reference, else import/unpickle."""
        if self.obj is not None:
            return self.obj
        key = self.target or self.pickled
        if key in _cache:
            return _cache[key]
        _script_folder_importable(self.main_path)
        if self.target is not None:
            if self.target.startswith("__main__:"):
                _ensure_main(self.main_path)
            value: Any = resolve(self.target)
        elif self.pickled is not None:
            try:
                value = pickle.loads(self.pickled)
            except (AttributeError, ModuleNotFoundError):
                # Something in the pickle lives in the user's script: import it, try again.
                if self.main_path is None:
                    raise
                _ensure_main(self.main_path)
                value = pickle.loads(self.pickled)
        else:
            raise ValueError("this reference was made for another process (Ref.live)")
        _cache[key] = value
        return value

    def to_json(self) -> dict[str, Any]:
        """A JSON form (pickles as base64) for storing the experiment's spec."""
        return {
            "target": self.target,
            "pickled": base64.b64encode(self.pickled).decode("ascii") if self.pickled else None,
            "main_path": self.main_path,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Ref:
        """Read `to_json` back."""
        pickled = data.get("pickled")
        return cls(
            target=data.get("target"),
            pickled=base64.b64decode(pickled) if pickled else None,
            main_path=data.get("main_path"),
        )

    def __getstate__(self) -> dict[str, Any]:
        # The live object never travels: the other process imports or unpickles.
        return {"target": self.target, "pickled": self.pickled, "main_path": self.main_path}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name in ("target", "pickled", "main_path"):
            object.__setattr__(self, name, state[name])
        object.__setattr__(self, "obj", None)


class Transfer(Enum):
    """How the user's objects (model space, evaluator) reach a backend's trials: each backend
    class declares one (`Backend.transfer`), and the experiment makes the jobs' refs with it."""

    LIVE = "live"
    """The objects themselves, in this process: anything works, a lambda too (inline)."""
    CHECKED = "checked"
    """The objects themselves, in this process, but refused up front unless they are
    importable or picklable (threads)."""
    PROCESS = "process"
    """Imported or unpickled in another process: objects of an interactive session (a
    notebook, the REPL), which no other process can import, are refused up front as well."""

    def ref(self, obj: Any, what: str) -> Ref:
        """A reference to `obj` (the `what`: "model space", "evaluator") for such trials."""
        if self is Transfer.LIVE:
            return Ref.live(obj)
        return Ref.of(obj, what, for_process=self is Transfer.PROCESS)


_cache: dict[Any, Any] = {}

_STRINGS = ("SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE")


def _interactive(what: str, obj: Any) -> NotTransferableError:
    # `__main__` without a file (a notebook, `python -c`, the REPL): another process has no
    # script to import it from, and every trial would fail there on a missing attribute.
    return NotTransferableError(
        f"the {what} {obj!r} is, or uses, something defined in an interactive session "
        "(a notebook or the REPL), which other processes cannot import. Use "
        "execution='inline' or 'threads', or move it into a module (a .py file)."
    )


def _names_main(data: bytes) -> bool:
    """Whether the pickle refers to a global of `__main__` (by GLOBAL, or by STACK_GLOBAL on
    strings pushed or fetched from the memo)."""
    memo: dict[int, Any] = {}
    stack: list[Any] = []  # the strings pushed so far, None for anything else
    for op, arg, _ in pickletools.genops(data):
        if op.name == "GLOBAL" and str(arg).split(" ")[0] == "__main__":
            return True
        if op.name == "STACK_GLOBAL" and len(stack) >= 2 and stack[-2] == "__main__":
            return True
        if op.name == "MEMOIZE":
            memo[len(memo)] = stack[-1] if stack else None
        elif op.name in ("BINPUT", "LONG_BINPUT", "PUT"):
            memo[int(str(arg))] = stack[-1] if stack else None
        elif op.name in ("BINGET", "LONG_BINGET", "GET"):
            stack.append(memo.get(int(str(arg))))
        else:
            stack.append(arg if op.name in _STRINGS else None)
    return False


def _main_path() -> str | None:
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    return str(path) if path else None


def _script_folder_importable(main_path: str | None) -> None:
    """Put the folder of the script that made the reference on `sys.path` (at the end), as
    Python did when the script ran: its sibling modules (`from mnist1d_cnn import Net`) then
    import here too, e.g. in `archsearch resume` started from another folder, and in the
    workers it spawns, which inherit `sys.path`."""
    if main_path is None:
        return
    folder = os.path.dirname(os.path.abspath(main_path))
    if folder not in sys.path and os.path.isdir(folder):
        sys.path.append(folder)


def _ensure_main(main_path: str | None) -> None:
    """Make the user's script importable as `__main__` here (under the name `__mp_main__`, so
    its `if __name__ == "__main__"` block does not run, and only up to where it starts an
    experiment: see `main_script`), unless this process already is that script."""
    if main_path is None:
        return
    main = sys.modules.get("__main__")
    if getattr(main, "__file__", None) == main_path:  # this process is (or imported) it
        return
    import_main(main_path)
