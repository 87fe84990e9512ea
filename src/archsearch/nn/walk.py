"""Walking a model: its choices in model order, their labels, and the SearchSpace they form."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from archsearch.nn.choice_args import ChoiceArgs
from archsearch.nn.input_choice import InputChoice
from archsearch.nn.layer_choice import LayerChoice
from archsearch.nn.mutable import Mutable
from archsearch.nn.parameter_choice import parameter_choices
from archsearch.nn.repeat import Repeat
from archsearch.nn.scope import MutableScope
from archsearch.nn.value_choice import ValueChoice, find_leaves
from archsearch.space import Dimension, InputChoiceDim, LayerChoiceDim, SearchSpace, ValueChoiceDim


@dataclass
class ModelChoices:
    """What a walk found. Built fresh on every walk, so it always matches the model as it is."""

    space: SearchSpace
    mutables: list[Mutable] = field(default_factory=list)
    """Choice modules that consult a mutator (LayerChoice, InputChoice, Repeat with a choice)."""
    value_modules: list[ChoiceArgs] = field(default_factory=list)
    """Modules built from value-choice arguments."""
    scopes: list[MutableScope] = field(default_factory=list)
    leaf_labels: dict[int, str] = field(default_factory=dict)
    """id(ValueChoice) → label."""
    argument_labels: set[str] = field(default_factory=set)
    """Labels of value choices used as layer arguments."""
    parameter_labels: list[str] = field(default_factory=list)
    """Labels of the model's ModelParameterChoices (plain values fixed at construction)."""

    def value_of(self, arch: dict[str, Any]) -> Any:
        """A function giving each ValueChoice's candidate (original Python value) under `arch`."""

        def pick(leaf: ValueChoice) -> Any:
            # By label, not identity, so it also answers for a deep copy of the walked model.
            dim = self.space[leaf.label]
            assert isinstance(dim, ValueChoiceDim)
            return leaf.candidates[dim.index(arch[dim.label])]

        return pick


def search_space(model: torch.nn.Module) -> SearchSpace:
    """The search space of a model: every choice's label and options, in model order."""
    return walk(model).space


def walk(model: torch.nn.Module) -> ModelChoices:
    """Find every choice in `model`, give unlabelled ones their attribute path as label, and check
    that choices sharing a label agree on their candidates."""
    builder = _Builder()
    for path, module in model.named_modules():
        builder.visit(path or "root", module)
    builder.found.space = SearchSpace(builder.dims.values())
    return builder.found


class _Builder:
    def __init__(self) -> None:
        self.dims: dict[str, Dimension] = {}
        self.origins: dict[str, str] = {}
        self.found = ModelChoices(SearchSpace())
        """What the walk found; its space is built from `dims` at the end."""

    def visit(self, path: str, module: torch.nn.Module) -> None:
        for label, values in parameter_choices(module).items():
            if path != "root":
                raise TypeError(
                    f"{type(module).__name__} at {path} holds ModelParameterChoice {label!r}: "
                    "they are supported in the model space itself (decorate the outer model "
                    "with @model_wrapper), where fix() can build the model again"
                )
            self.add(ValueChoiceDim(label, values), path)
            self.found.parameter_labels.append(label)
        if isinstance(module, Mutable):
            module._derived_label = path
            if isinstance(module, LayerChoice):
                self.add(LayerChoiceDim(module.label, tuple(module.names)), path)
            elif isinstance(module, InputChoice):
                dim = InputChoiceDim(
                    module.label,
                    module.n_candidates,
                    module.n_chosen,
                    tuple(module.names),
                    module.default_all and module.n_chosen is None,
                )
                self.add(dim, path)
            elif isinstance(module, Repeat) and module.depth_choice is not None:
                self.add_leaf(module.depth_choice, module._explicit_label or path, path)
            else:
                return
            self.found.mutables.append(module)
        elif isinstance(module, MutableScope):
            self.found.scopes.append(module)
        if isinstance(module, ChoiceArgs):
            arguments = module.choice_arguments()
            if arguments is not None:
                for name, value in arguments.items():
                    for where, leaf in find_leaves(value, f"{path}.{name}"):
                        self.add_leaf(leaf, where, path)
                        self.found.argument_labels.add(leaf.label)
                self.found.value_modules.append(module)

    def add_leaf(self, leaf: ValueChoice, default_label: str, path: str) -> None:
        if id(leaf) in self.found.leaf_labels:
            return
        if leaf._explicit_label is None:
            leaf._derived_label = default_label
        self.found.leaf_labels[id(leaf)] = leaf.label
        try:
            dim = ValueChoiceDim(leaf.label, leaf.candidates)
        except TypeError as exc:
            raise TypeError(f"value choice {leaf.label!r} at {path}: {exc}") from None
        self.add(dim, path)

    def add(self, dim: Dimension, path: str) -> None:
        known = self.dims.get(dim.label)
        if known is None:
            self.dims[dim.label] = dim
            self.origins[dim.label] = path
        elif known != dim:
            raise ValueError(
                f"label {dim.label!r} is shared by two different choices: {known} at "
                f"{self.origins[dim.label]} and {dim} at {path}; choices with the same label "
                "must have the same candidates"
            )
