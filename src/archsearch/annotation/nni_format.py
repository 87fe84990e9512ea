"""NNI's tuner format for annotated code: what an NNI-era custom tuner reads and returns.

NNI gives a tuner of an annotation experiment the JSON of `archsearch ss-gen --annotations
--nni-format` (blocks keyed `<module>/mutable_block_<line>`, HPO keys `<module>/<name>/<func>`)
and expects parameters in the same shape: `{block: {"mutable_layer_i": {"chosen_layer": name,
"chosen_inputs": [names]}}, "<module>/<name>/<func>": value}`. `NniFormat` translates both ways
between that and archsearch's architectures, so such a tuner drives `archsearch run` unchanged.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from archsearch.annotation.records import AnnotatedModule, FunctionChoice, MutableLayers, Variable
from archsearch.annotation.space import collect, nni_block_key, nni_key, nni_search_space
from archsearch.classic import SpaceMismatchError
from archsearch.space import Architecture, InvalidArchitectureError, SearchSpace


@dataclass(frozen=True)
class _Layer:
    """Where one mutable layer's choices live in NNI's parameters, and its archsearch labels."""

    block: str
    name: str  # mutable_layer_<i>
    label: str
    candidates: tuple[str, ...]
    inputs: tuple[str, ...]
    size: tuple[int, int]


@dataclass(frozen=True)
class NniFormat:
    """The NNI search-space JSON of some annotated modules and the key of every choice
    (plain data: it is stored with the experiment's tuner)."""

    json: Mapping[str, Any]
    layers: tuple[_Layer, ...]
    values: tuple[tuple[str, str], ...]  # (archsearch label, NNI key) of each HPO annotation

    @classmethod
    def of(cls, modules: Iterable[AnnotatedModule]) -> NniFormat:
        modules = list(modules)
        layers: list[_Layer] = []
        values: list[tuple[str, str]] = []
        for module in modules:
            for note in module.annotations:
                if isinstance(note, MutableLayers):
                    block = nni_block_key(module.module, note)
                    for i, layer in enumerate(note.layers):
                        names = tuple(c.key for c in layer.candidates)
                        label = module.prefix + layer.output
                        inputs = layer.optional_inputs
                        layers.append(
                            _Layer(block, f"mutable_layer_{i}", label, names, inputs, layer.size)
                        )
                elif isinstance(note, Variable):
                    key = nni_key(module.module, note.name, note.func)
                    values.append((module.prefix + note.name, key))
                elif isinstance(note, FunctionChoice):
                    key = nni_key(module.module, note.name, "function_choice")
                    values.append((module.prefix + note.name, key))
        return cls(nni_search_space(modules), tuple(layers), tuple(values))

    def search_space_json(self, space: SearchSpace) -> dict[str, Any]:
        """NNI's JSON of the annotations (`ss-gen --annotations --nni-format`)."""
        return dict(self.json)

    def to_architecture(
        self, space: SearchSpace, params: Mapping[str, Any], *, source: str
    ) -> Architecture:
        """The architecture of NNI-format `params` (errors name the NNI key and the label)."""
        if not isinstance(params, Mapping):
            raise SpaceMismatchError(
                f"{source}: NNI-format parameters must be a JSON object, got "
                f"{type(params).__name__}"
            )
        arch: dict[str, Any] = {}
        for layer in self.layers:
            fields = ((layer.label, "chosen_layer"), (f"{layer.label}/inputs", "chosen_inputs"))
            for label, field in fields:
                if label not in space:
                    continue  # one candidate, or a fixed set of inputs: nothing to choose
                entry = params.get(layer.block)
                entry = entry.get(layer.name) if isinstance(entry, Mapping) else None
                if not isinstance(entry, Mapping) or field not in entry:
                    raise SpaceMismatchError(
                        f"{source}: the parameters have no {layer.block} → {layer.name} → "
                        f"{field} (the choice archsearch labels {label!r})"
                    )
                arch[label] = entry[field]
        for label, key in self.values:
            if label in space:
                if key not in params:
                    raise SpaceMismatchError(
                        f"{source}: the parameters have no {key!r} (the choice archsearch "
                        f"labels {label!r}); they name {sorted(params)}"
                    )
                arch[label] = params[key]
        try:
            return space.validate(arch)
        except InvalidArchitectureError as exc:
            raise InvalidArchitectureError(f"{source}: {exc}") from None

    def to_parameters(self, space: SearchSpace, arch: Mapping[str, Any]) -> dict[str, Any]:
        """`arch` in NNI's format (what the tuner would have returned for it)."""
        canonical = space.validate(arch)
        params: dict[str, Any] = {}
        for layer in self.layers:
            chosen = canonical.get(layer.label, layer.candidates[0])
            picked = f"{layer.label}/inputs"
            low = layer.size[0]
            indices = canonical[picked] if picked in canonical else list(range(low))
            params.setdefault(layer.block, {})[layer.name] = {
                "chosen_layer": chosen,
                "chosen_inputs": [layer.inputs[i] for i in indices],
            }
        for label, key in self.values:
            if label in canonical:
                params[key] = canonical[label]
        return params


def nni_format(code_directory: str | os.PathLike[str]) -> NniFormat:
    """The NNI format of the annotations under `code_directory` (read statically)."""
    return NniFormat.of(collect(code_directory))
