"""The search space of annotated code: archsearch's (readable labels) and NNI's JSON.

Labels (stable under edits elsewhere in the file): a mutable layer's candidates are labelled by
its `layer_output` (`<module>/<output>`), its optional inputs `<module>/<output>/inputs`; an
`@nni.variable` by its target, an `@nni.function_choice` by its name. `<module>/` is left out
when the space comes from a single script.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from archsearch.annotation.grammar import DISCRETE, parse_module
from archsearch.annotation.records import (
    AnnotatedModule,
    AnnotationError,
    FunctionChoice,
    MutableLayers,
    Variable,
)
from archsearch.annotation.text import PREFIX
from archsearch.space import Dimension, InputChoiceDim, LayerChoiceDim, SearchSpace, ValueChoiceDim

SKIPPED_FOLDERS = {"__pycache__", "node_modules", "site-packages"}
"""Folders never read when scanning a code folder (besides hidden ones)."""


def collect(path: str | os.PathLike[str]) -> list[AnnotatedModule]:
    """The annotated modules of a script, or of every `.py` file under a folder (read only)."""
    root = Path(path)
    if root.is_file():
        return [read_module(root, root.parent, prefixed=False)]
    if not root.is_dir():
        raise FileNotFoundError(f"{path}: no such script or folder")
    return [
        read_module(file, root, prefixed=True)
        for file in _python_files(root)
        if PREFIX in file.read_text(encoding="utf-8", errors="replace")
    ]


def read_module(file: Path, root: Path, *, prefixed: bool) -> AnnotatedModule:
    """The annotations of `file`, named as a module under `root`."""
    module = module_name(file, root)
    source = file.read_text(encoding="utf-8")
    parsed = parse_module(source, str(file), module, f"{module}/" if prefixed else "")
    check_labels(parsed)
    return parsed


def module_name(file: Path, root: Path) -> str:
    """NNI's key prefix: the path under `root`, `/` → `.`, without `.py`."""
    relative = file.resolve().relative_to(root.resolve()).with_suffix("")
    return ".".join(relative.parts)


def scanned_folder(name: str) -> bool:
    """Whether a code folder's subfolder is read (not hidden, not a cache or packages)."""
    return not name.startswith(".") and name not in SKIPPED_FOLDERS


def _python_files(root: Path) -> Iterator[Path]:
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(d for d in subfolders if scanned_folder(d))
        for name in sorted(files):
            if name.endswith(".py"):
                yield Path(folder) / name


def layer_dimensions(
    label: str, names: tuple[str, ...], inputs: tuple[str, ...], size: tuple[int, int]
) -> list[Dimension]:
    """The dimensions of one mutable layer: its candidates (when more than one) and its
    optional inputs (when the count leaves a choice)."""
    dims: list[Dimension] = []
    if len(names) > 1:
        dims.append(LayerChoiceDim(label, names))
    low, high = size
    n = len(inputs)
    if low == high and low in (0, n):
        return dims  # none or all of them: nothing to choose
    if low == high:
        dims.append(InputChoiceDim(f"{label}/inputs", n, low, inputs))
    else:
        dims.append(InputChoiceDim(f"{label}/inputs", n, None, inputs, chosen_range=(low, high)))
    return dims


def variable_dimension(label: str, func: str, values: tuple[Any, ...]) -> ValueChoiceDim:
    """The dimension of an `@nni.variable` (`choice` or `randint`)."""
    if func == "randint":
        return ValueChoiceDim(label, tuple(range(values[0], values[1])))
    return ValueChoiceDim(label, values)


def module_dimensions(module: AnnotatedModule) -> Iterator[Dimension]:
    """The dimensions of one module, in source order."""
    for note in module.annotations:
        if isinstance(note, MutableLayers):
            for layer in note.layers:
                names = tuple(c.key for c in layer.candidates)
                label = module.prefix + layer.output
                yield from layer_dimensions(label, names, layer.optional_inputs, layer.size)
        elif isinstance(note, Variable):
            if note.func not in DISCRETE:
                raise AnnotationError(
                    module.path,
                    note.span.line,
                    f"@nni.variable nni.{note.func} is a continuous type, which archsearch "
                    f"cannot search yet; use one of {', '.join(DISCRETE)} (`archsearch ss-gen "
                    "--nni-format` still writes it for an NNI tuner)",
                )
            yield variable_dimension(module.prefix + note.name, note.func, note.values)
        elif isinstance(note, FunctionChoice):
            yield ValueChoiceDim(module.prefix + note.name, note.candidates)


def search_space(modules: Iterable[AnnotatedModule]) -> SearchSpace:
    """archsearch's search space of annotated modules."""
    return SearchSpace(d for module in modules for d in module_dimensions(module))


def check_labels(module: AnnotatedModule) -> None:
    """Two annotations of one module may not label the same choice."""
    seen: dict[str, int] = {}
    for note in module.annotations:
        named: list[tuple[str, int]] = []
        if isinstance(note, MutableLayers):
            named = [(layer.output, layer.line) for layer in note.layers]
        elif isinstance(note, (Variable, FunctionChoice)):
            named = [(note.name, note.span.line)]
        for name, line in named:
            if name in seen:
                raise AnnotationError(
                    module.path,
                    line,
                    f"{name!r} already labels the choice at line {seen[name]}; each "
                    "layer_output, @nni.variable target and function_choice name must be "
                    "unique in its file (rename one)",
                )
            seen[name] = line


def nni_block_key(module: str, block: MutableLayers) -> str:
    """NNI's key of a mutable-layer block: its module and the annotation's last line."""
    return f"{module}/mutable_block_{block.span.end_line}"


def nni_key(module: str, name: str, func: str) -> str:
    """NNI's key of an HPO annotation: `<module>/<name>/<func>`."""
    return f"{module}/{name}/{func}"


def nni_search_space(modules: Iterable[AnnotatedModule]) -> dict[str, Any]:
    """NNI's search-space JSON for the same modules (`ss-gen --nni-format`)."""
    space: dict[str, Any] = {}
    for module in modules:
        for note in module.annotations:
            if isinstance(note, MutableLayers):
                space[nni_block_key(module.module, note)] = {
                    "_type": "mutable_layer",
                    "_value": {
                        f"mutable_layer_{i}": {
                            "layer_choice": [c.key for c in layer.candidates],
                            "optional_inputs": list(layer.optional_inputs),
                            "optional_input_size": layer.size[0]
                            if layer.size[0] == layer.size[1]
                            else list(layer.size),
                        }
                        for i, layer in enumerate(note.layers)
                    },
                }
            elif isinstance(note, Variable):
                value = list(note.values)
                space[nni_key(module.module, note.name, note.func)] = {
                    "_type": note.func,
                    "_value": value,
                }
            elif isinstance(note, FunctionChoice):
                key = nni_key(module.module, note.name, "function_choice")
                space[key] = {"_type": "choice", "_value": list(note.candidates)}
    return space
