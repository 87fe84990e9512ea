"""NNI's tuner format for annotated code: what an NNI-era custom tuner reads and returns.

NNI gives a tuner of an annotation experiment the JSON of `archsearch ss-gen --annotations
--nni-format` (blocks keyed `<module>/mutable_block_<line>`, HPO keys `<module>/<name>/<func>`)
and expects parameters in the same shape: `{block: {"mutable_layer_i": {"chosen_layer": name,
"chosen_inputs": [names]}}, "<module>/<name>/<func>": value}`. `NniFormat` translates both ways
between that and archsearch's architectures, so such a tuner drives `archsearch run` unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from archsearch.annotation.records import AnnotatedModule, FunctionChoice, MutableLayers, Variable
from archsearch.annotation.space import nni_block_key, nni_key, nni_search_space
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

    def paths(self, space: SearchSpace) -> dict[str, tuple[str, ...]]:
        """Where each label of `space` that these annotations choose sits in NNI's parameters:
        `(block, "mutable_layer_i", "chosen_layer" | "chosen_inputs")` or `(key,)`. A layer with
        one candidate, or a fixed set of inputs, has nothing to choose and no label."""
        paths: dict[str, tuple[str, ...]] = {}
        for layer in self.layers:
            paths[layer.label] = (layer.block, layer.name, "chosen_layer")
            paths[f"{layer.label}/inputs"] = (layer.block, layer.name, "chosen_inputs")
        paths.update((label, (key,)) for label, key in self.values)
        return {label: path for label, path in paths.items() if label in space}

    def relabel(self, params: Mapping[str, Any], space: SearchSpace) -> dict[str, Any]:
        """`params` with NNI's entries turned into archsearch labels; other keys are kept and
        absent entries skipped (the caller checks what is missing)."""
        paths = self.paths(space)
        result = {key: value for key, value in params.items() if key not in self._roots()}
        for label, path in paths.items():
            found, value = _lookup(params, path)
            if found:
                result[label] = value
        return result

    def _roots(self) -> set[str]:
        return {layer.block for layer in self.layers} | {key for _, key in self.values}

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
        for label, path in self.paths(space).items():
            found, arch[label] = _lookup(params, path)
            if not found:
                where = f"no {path[0]!r}; they name {sorted(params)}"
                if len(path) > 1:
                    where = "no " + " → ".join(path)
                raise SpaceMismatchError(
                    f"{source}: the parameters have {where} (the choice archsearch labels "
                    f"{label!r})"
                )
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


def _lookup(params: Mapping[str, Any], path: tuple[str, ...]) -> tuple[bool, Any]:
    """(found, value) of the entry at `path` in nested mappings."""
    value: Any = params
    for key in path:
        if not isinstance(value, Mapping) or key not in value:
            return False, None
        value = value[key]
    return True, value
