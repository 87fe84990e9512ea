"""fix(model, arch): the chosen architecture as a plain PyTorch model."""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable, Mapping
from typing import Any

import torch

from archsearch.nn.cell import Cell
from archsearch.nn.choice_args import ChoiceArgs
from archsearch.nn.fixed import FixedCell, FixedInputChoice, FixedLayerChoice
from archsearch.nn.input_choice import InputChoice
from archsearch.nn.layer_choice import LayerChoice
from archsearch.nn.nasbench101 import NasBench101Cell
from archsearch.nn.parameter_choice import rebuild
from archsearch.nn.repeat import Repeat
from archsearch.nn.value_choice import resolve
from archsearch.nn.walk import ModelChoices, walk
from archsearch.nn.weights import copy_overlap, reset_parameters
from archsearch.space import InvalidArchitectureError


def fix(
    model: torch.nn.Module, arch: Mapping[str, Any], *, inherit_weights: bool = False
) -> torch.nn.Module:
    """Return a new plain PyTorch module that runs architecture `arch` of `model`.

    Every choice is replaced by what was chosen, unused candidates are dropped and value choices
    become real layer arguments; `model` itself is left as it was. The result holds torch.nn
    modules only (plus parameter-free wiring for InputChoice and Cell), so it scripts, exports
    and compiles like hand-written code. With `inherit_weights=True` the chosen candidates keep
    their trained weights (layers re-sized by a value choice keep the overlapping slice);
    otherwise the result is freshly initialised, ready to train from scratch.
    """
    choices = walk(model)
    canonical = choices.space.validate(arch)
    if choices.parameter_labels:
        # Plain values fixed when the model was built: build it again with the chosen ones.
        source = model
        model = rebuild(model, {label: canonical[label] for label in choices.parameter_labels})
        if inherit_weights:
            copy_overlap(model, source)
        choices = walk(model)
    # Mapping an object to None in the deep-copy memo leaves it out of the copy: a bound mutator
    # is not part of the fixed model, and neither is what the architecture drops (most of a
    # supernet), which makes copying the bulk of fix's time. Shared modules could be dropped in
    # one place and kept in another, so then everything is copied.
    memo: dict[int, Any] = {id(m.__dict__["_mutator"]): None for m in _bound(model)}
    if not _has_shared_modules(model):
        memo.update(dict.fromkeys(_dropped(choices, canonical)))
    copied = copy.deepcopy(model, memo)
    fixed = _Fixer(canonical, choices.value_of(canonical)).visit(copied)
    if not inherit_weights:
        reset_parameters(fixed)
    return fixed


def apply_fixed_architecture(
    model: torch.nn.Module, arch: Mapping[str, Any] | str | os.PathLike[str]
) -> torch.nn.Module:
    """NNI's in-place variant of `fix`: `arch` is a dict or the path of a JSON file.

    Weights are kept. Returns the fixed model (the same object unless the root itself was a
    choice).
    """
    if isinstance(arch, (str, os.PathLike)):
        with open(arch, encoding="utf-8") as f:
            try:
                arch = json.load(f)
            except (ValueError, RecursionError) as exc:  # bad JSON, a huge int, deep nesting
                raise InvalidArchitectureError(f"{os.fspath(f.name)}: not JSON: {exc}") from None
    choices = walk(model)
    canonical = choices.space.validate(arch)  # type: ignore[arg-type]  # validate checks it
    if choices.parameter_labels:
        raise TypeError(
            f"apply_fixed_architecture cannot change ModelParameterChoice values "
            f"({', '.join(choices.parameter_labels)}) of a built model: use "
            "archsearch.fix(model, arch), which builds it again"
        )
    return _Fixer(canonical, choices.value_of(canonical)).visit(model)


def _bound(model: torch.nn.Module) -> list[torch.nn.Module]:
    return [m for m in model.modules() if m.__dict__.get("_mutator") is not None]


def _has_shared_modules(model: torch.nn.Module) -> bool:
    every_path = sum(1 for _ in model.named_modules(remove_duplicate=False))
    return every_path != sum(1 for _ in model.modules())


def _dropped(choices: ModelChoices, arch: dict[str, Any]) -> list[int]:
    """ids of the modules `arch` does not use: unchosen candidates, blocks past the depth."""
    dropped = []
    for module in choices.mutables:
        if isinstance(module, LayerChoice):
            chosen = arch[module.label]
            dropped += [id(m) for name, m in module._modules.items() if name != chosen]
        elif isinstance(module, Repeat):
            depth = resolve(module.depth_expression, choices.value_of(arch))
            dropped += [id(m) for m in module.blocks[depth:]]
    return dropped


class _Fixer:
    def __init__(self, arch: dict[str, Any], value_of: Callable[[Any], Any]) -> None:
        self.arch = arch
        self.value_of = value_of
        self.done: dict[int, torch.nn.Module] = {}

    def visit(self, module: torch.nn.Module) -> torch.nn.Module:
        # Shared modules stay shared: each is fixed once.
        if id(module) not in self.done:
            self.done[id(module)] = self.replace(module)
        return self.done[id(module)]

    def replace(self, module: torch.nn.Module) -> torch.nn.Module:
        if isinstance(module, LayerChoice):
            name = self.arch[module.label]
            chosen = self.visit(module[name])
            if not module.return_mask and module.reduction != "none":
                return chosen
            index, length = module.names.index(name), len(module)
            wrapped = FixedLayerChoice(
                name, chosen, index, length, module.reduction, module.return_mask
            )
            return self.wiring(wrapped, module)
        if isinstance(module, InputChoice):
            selector = FixedInputChoice(
                self.arch[module.label],
                module.reduction,
                module.n_candidates,
                module.names,
                module.return_mask,
            )
            return self.wiring(selector, module)
        if isinstance(module, Repeat):
            expression = module.depth_expression
            depth = len(module.blocks) if expression is None else resolve(expression, self.value_of)
            blocks = torch.nn.Sequential(*(self.visit(b) for b in module.blocks[:depth]))
            return self.wiring(blocks, module)
        if isinstance(module, Cell):
            return self.wiring(self.fix_cell(module), module)
        if isinstance(module, NasBench101Cell):
            return self.wiring(module.fixed(self.arch, self.visit), module)
        if isinstance(module, ChoiceArgs):
            if module.has_choices():
                return self.fix_layer(module)
            # Same state as its plain base class, so the object simply becomes that class.
            module.__class__ = module.fixed_class()  # type: ignore[assignment]
        for name, child in list(module._modules.items()):
            if child is not None:
                module._modules[name] = self.visit(child)
        for binding in ("_mutator", "_parameter_choices", "_init_args"):
            module.__dict__.pop(binding, None)
        return module

    def wiring(self, new: torch.nn.Module, old: torch.nn.Module) -> torch.nn.Module:
        """Give modules created here the training mode of the choice they replace; the fixed
        modules they hold keep their own (a frozen BatchNorm stays in eval mode)."""
        reused = {id(m) for m in self.done.values()}
        stack = [new]
        while stack:
            m = stack.pop()
            if id(m) not in reused:
                m.training = old.training
                stack.extend(m.children())
        return new

    def fix_layer(self, module: ChoiceArgs) -> torch.nn.Module:
        rebuilt = module.rebuild(self.value_of)
        copy_overlap(rebuilt, module)
        return _placed_like(rebuilt, module)

    def fix_cell(self, cell: Cell) -> FixedCell:
        inputs = [[self.arch[c.label][0] for c in _items(node)] for node in cell.inputs]
        ops = [
            [self.cell_op(cell, i, j, op, inputs[i][j]) for j, op in enumerate(_items(node))]
            for i, node in enumerate(cell.ops)
        ]
        nodes = range(cell.num_predecessors, cell.num_predecessors + cell.num_nodes)
        used = {j for node in inputs for j in node}
        outputs = [n for n in nodes if cell.merge_op == "all" or n not in used]
        return FixedCell(
            ops,
            inputs,
            cell.num_predecessors,
            outputs,
            cell.concat_dim,
            self.processor(cell.preprocessor),
            self.processor(cell.postprocessor),
        )

    def processor(self, step: Any) -> Any:
        """A cell's pre- or postprocessor: a module is fixed, any other callable kept (NNI)."""
        return self.visit(step) if isinstance(step, torch.nn.Module) else step

    def cell_op(
        self, cell: Cell, node: int, slot: int, choice: LayerChoice, input_index: int
    ) -> torch.nn.Module:
        """The chosen op of a cell slot; one whose factory takes the input index is built again
        with the chosen input (keeping the searched op's weights where they fit)."""
        name = self.arch[choice.label]
        searched = self.visit(choice[name])
        rebuilt = cell.op_for_input(node, slot, name, input_index)
        if rebuilt is None:
            return searched
        inner = walk(rebuilt).space
        if inner.labels:
            # Labels inside a freshly built op are its own paths unless given explicitly.
            missing = [label for label in inner.labels if label not in self.arch]
            if missing:
                raise ValueError(
                    f"{choice.label}: the op built for input {input_index} has choices without "
                    f"an explicit label ({missing}); label the choices an op factory makes"
                )
            rebuilt = _Fixer(self.arch, self.value_of).visit(rebuilt)
        copy_overlap(rebuilt, searched)
        return self.wiring(_placed_like(rebuilt, searched), choice)


def _placed_like(new: torch.nn.Module, old: torch.nn.Module) -> torch.nn.Module:
    """`new` on the device (and floating dtype) of `old`'s parameters."""
    tensor = next(old.parameters(), None)
    if tensor is None:
        return new
    dtype = tensor.dtype if tensor.is_floating_point() else None
    return new.to(device=tensor.device, dtype=dtype)


def _items(node: torch.nn.Module) -> list[Any]:
    return list(node.children())
