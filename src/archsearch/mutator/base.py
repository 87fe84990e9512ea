"""BaseMutator: the hooks through which a model's choices ask for a decision during forward."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from archsearch.nn.choice_args import ChoiceArgs
from archsearch.nn.value_choice import ValueChoice, find_leaves
from archsearch.nn.walk import walk
from archsearch.space import SearchSpace

if TYPE_CHECKING:
    from archsearch.nn import InputChoice, LayerChoice, Mutable, MutableScope, Repeat


class BaseMutator(torch.nn.Module):
    """Binds itself to every choice of `model`; subclasses decide what each choice does.

    It is an nn.Module so that architecture parameters (e.g. DARTS' alphas) live on it and
    `mutator.parameters()` gives exactly those, never the model's weights. Binding a new mutator
    to a model (or to a deep copy of it) replaces the old binding.
    """

    model: torch.nn.Module

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        # Not a submodule: the model's parameters must not become the mutator's.
        self.__dict__["model"] = model
        choices = walk(model)
        # Value choices that change layer shapes need weight sharing: only layers converted for
        # it (one-shot supernet layers, marked `weight_sharing = True`) can follow a mutator.
        fixed_shape = [m for m in choices.value_modules if not getattr(m, "weight_sharing", False)]
        if fixed_shape:
            labels = sorted({choices.leaf_labels[id(leaf)] for leaf in _leaves(fixed_shape)})
            raise TypeError(
                f"{type(self).__name__} cannot switch value choices used as layer arguments "
                f"({', '.join(labels)}): they change layer shapes, which needs weight sharing. "
                "Use archsearch.fix(model, arch) per architecture, or a one-shot trainer that "
                "supports value choices."
            )
        if choices.parameter_labels:
            raise TypeError(
                f"{type(self).__name__} cannot switch ModelParameterChoice values "
                f"({', '.join(choices.parameter_labels)}): they are fixed when the model is "
                "built. Search them with a multi-trial strategy, or use a ValueChoice."
            )
        self._space = choices.space
        first: dict[str, Mutable] = {}
        for mutable in choices.mutables:
            first.setdefault(mutable.label, mutable)
        self._mutables = list(first.values())
        self._bound: list[torch.nn.Module] = [
            *choices.mutables,
            *choices.scopes,
            *choices.value_modules,
        ]
        self.bind()

    @property
    def mutables(self) -> list[Mutable]:
        """One choice module per label, in model order."""
        return list(self._mutables)

    @property
    def search_space(self) -> SearchSpace:
        """The model's search space (labels of `mutables`, in the same order)."""
        return self._space

    def bind(self) -> None:
        """Make this mutator decide the model's choices (again), replacing any other binding."""
        for module in self._bound:
            module.__dict__["_mutator"] = self

    def unbind(self) -> None:
        """Return the model to standalone mode (first candidates)."""
        for module in self._bound:
            if module.__dict__.get("_mutator") is self:
                del module.__dict__["_mutator"]

    def on_forward_layer_choice(
        self, mutable: LayerChoice, *args: Any, **kwargs: Any
    ) -> tuple[Any, torch.Tensor]:
        """Run the LayerChoice: return its output and the mask that produced it."""
        raise NotImplementedError

    def on_forward_input_choice(
        self, mutable: InputChoice, tensor_list: list[torch.Tensor]
    ) -> tuple[Any, torch.Tensor]:
        """Run the InputChoice on its candidate tensors: return its output and the mask."""
        raise NotImplementedError

    def on_forward_repeat(self, mutable: Repeat) -> int:
        """The depth a Repeat runs at; by default its first candidate depth."""
        return mutable.depth_candidates()[0]

    def enter_mutable_scope(self, scope: MutableScope) -> None:
        """Called before a MutableScope's forward."""

    def exit_mutable_scope(self, scope: MutableScope) -> None:
        """Called after a MutableScope's forward (also when it raised)."""

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a mutator is not called; it decides choices while the model runs")


def _leaves(modules: list[ChoiceArgs]) -> list[ValueChoice]:
    return [leaf for m in modules for _, leaf in find_leaves(m.choice_arguments(), "")]
