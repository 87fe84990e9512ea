"""How `archsearch run` launches an annotated script: the trial command `python SCRIPT.py ...`
becomes `python -m archsearch.annotation SCRIPT.py ...`, run in the user's own code folder
(nothing copied), with `ROOT_ENV` naming that folder so the trial's labels are the space's.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from archsearch.annotation.records import AnnotatedModule, AnnotationError
from archsearch.annotation.space import collect, search_space
from archsearch.space import SearchSpace

ROOT_ENV = "ARCHSEARCH_ANNOTATION_ROOT"
"""Environment variable: the code folder whose space the trial's labels come from (set by
`archsearch run`); without it a script's labels are its own (no module prefix)."""

RUNNER = ["-m", "archsearch.annotation"]

_PYTHON = re.compile(r"(?:.*/)?python[0-9.]*")
_COMMAND = re.compile(r"^(\s*\S*python[0-9.]*)((?:\s+-[A-Za-z]+)*)\s+(\S+\.py)(?=\s|$)")


def annotated_command(command: str | Sequence[str]) -> str | list[str]:
    """The trial command that runs its script through the annotation runtime; ValueError
    naming what is expected when the command does not start by running a Python script."""
    if isinstance(command, str):
        if "-m archsearch.annotation" in command:
            return command
        match = _COMMAND.match(command)
        if match and _PYTHON.fullmatch(match.group(1).strip()):
            python, options, script = match.groups()
            return f"{python}{options} -m archsearch.annotation {script}{command[match.end() :]}"
    else:
        words = list(command)
        if words[1:3] == RUNNER:
            return words
        at = 1
        while at < len(words) and re.fullmatch(r"-[A-Za-z]+", words[at]):
            at += 1
        if words and _PYTHON.fullmatch(words[0]) and at < len(words) and words[at].endswith(".py"):
            return [*words[:at], *RUNNER, *words[at:]]
    text = command if isinstance(command, str) else shlex.join(command)
    raise ValueError(
        f"useAnnotation: trialCommand must run a script as `python SCRIPT.py [ARGS...]` (got "
        f"{text!r}); another command can run `python -m archsearch.annotation SCRIPT.py` itself"
    )


def annotated_space(
    use: Any, nas_mode: Any, given: list[str], code_dir: Path
) -> tuple[SearchSpace, list[AnnotatedModule]] | None:
    """The space of the annotations under `code_dir` (read statically, once) and the modules
    it came from, for `useAnnotation: true`; None for false (`given`: the search-space keys
    the configuration also has, which are refused beside annotations)."""
    if not isinstance(use, bool) and use is not None:
        raise ValueError(f"useAnnotation must be true or false, got {use!r}")
    if nas_mode not in (None, "classic_mode"):
        raise ValueError(
            f"nasMode {nas_mode!r} is not supported: NNI's enas_mode, oneshot_mode and "
            "darts_mode were TensorFlow graphs; use classic_mode (or leave nasMode out), or "
            "write LayerChoice/InputChoice modules and use archsearch.oneshot"
        )
    if not use:
        return None
    if given:
        raise ValueError(
            f"{given[0]} cannot be given with useAnnotation: true; the search space is read "
            f"from the annotations in {code_dir} (leave {given[0]} out, or set useAnnotation: "
            "false)"
        )
    try:
        modules = collect(code_dir)
        space = search_space(modules)
    except (AnnotationError, OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"useAnnotation: {exc}") from None
    if not space:
        raise ValueError(
            f"useAnnotation: true, but no annotation in {code_dir} leaves a choice (write "
            '"""@nni.mutable_layers(...)""" or @nni.variable annotations)'
        )
    return space, modules
