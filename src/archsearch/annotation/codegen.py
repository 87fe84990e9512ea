"""`archsearch annotate SCRIPT --arch ARCH.json`: the script with one architecture's choices
written as plain calls (NNI's `trial codegen`), for NAS and HPO annotations alike; the result
imports nothing of archsearch."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from archsearch.annotation.nni_format import NniFormat
from archsearch.annotation.records import (
    AnnotatedModule,
    Annotation,
    FunctionChoice,
    MutableLayer,
    MutableLayers,
    Variable,
)
from archsearch.annotation.space import module_dimensions, read_module
from archsearch.annotation.splice import inline_source
from archsearch.classic import from_parameters
from archsearch.space import Architecture, InvalidArchitectureError, SearchSpace, same_value


def architecture_data(data: Any) -> Mapping[str, Any]:
    """The architecture in a JSON document: an architecture or classic parameters, NNI's
    parameters, or what `archsearch export` writes (its best entry)."""
    if isinstance(data, list) and data and isinstance(data[0], Mapping) and "arch" in data[0]:
        data = data[0]["arch"]
    elif isinstance(data, Mapping) and isinstance(data.get("arch"), Mapping):
        data = data["arch"]
    if not isinstance(data, Mapping):
        raise ValueError(
            "the architecture must be a JSON object label → choice (or `archsearch export` output)"
        )
    return data


def _prefixes(file: Path) -> list[Path]:
    """Folders the script may have been a module of (its labels then carry its module)."""
    return list(file.resolve().parents)[:6]


def resolve(file: Path, data: Mapping[str, Any]) -> tuple[AnnotatedModule, Architecture]:
    """The script's annotations and `data` as an architecture of them. The labels may be
    the script's own, those of a run over a folder holding it, or NNI's keys."""
    best: tuple[int, str] = (-1, "")
    for root, prefixed in [(file.resolve().parent, False)] + [(r, True) for r in _prefixes(file)]:
        module = read_module(file, root, prefixed=prefixed)
        space = SearchSpace(module_dimensions(module))
        relabelled = NniFormat.of([module]).relabel(data, space)  # NNI's keys, if it has them
        params = {k: v for k, v in relabelled.items() if k.startswith(module.prefix)}
        try:
            return module, from_parameters(space, params, source="the architecture")
        except InvalidArchitectureError as exc:
            shared = len(set(params) & set(space))
            best = max(best, (shared, str(exc)), key=lambda b: b[0])
    raise ValueError(best[1])


def generate(file: str | Path, data: Any) -> str:
    """The source of `file` with the choices of `data` inlined as plain code."""
    path = Path(file)
    module, arch = resolve(path, architecture_data(data))
    return inline_source(path.read_text(encoding="utf-8"), module, _decider(arch))


def _decider(arch: Architecture) -> Any:
    def decide(note: Annotation, module: AnnotatedModule) -> Any:
        if isinstance(note, MutableLayers):
            return [
                _layer_choice(module.prefix + layer.output, layer, arch) for layer in note.layers
            ]
        assert isinstance(note, (Variable, FunctionChoice))
        value = arch[module.prefix + note.name]
        if isinstance(note, FunctionChoice):
            return value
        if note.func == "randint":
            return repr(value)
        index = next(i for i, v in enumerate(note.values) if same_value(v, value))
        return note.options[index]

    return decide


def _layer_choice(label: str, layer: MutableLayer, arch: Architecture) -> tuple[str, list[str]]:
    names = tuple(c.key for c in layer.candidates)
    key = arch.get(label, names[0]) if len(names) > 1 else names[0]
    inputs = layer.optional_inputs
    chosen = list(inputs) if layer.size[0] == len(inputs) else []
    if f"{label}/inputs" in arch:
        chosen = [inputs[i] for i in arch[f"{label}/inputs"]]
    return key, chosen
