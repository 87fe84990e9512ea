"""`import archsearch.nn as nn`: every torch.nn name, plus the choice primitives.

Layers that take value choices as arguments (Linear, Conv2d, BatchNorm2d, ...) are thin subclasses
of their torch.nn namesakes (see `layers.py`); every other name is torch.nn's own object.
"""

from torch.nn import *  # noqa: F403  (the drop-in promise: every torch.nn name)
from torch.nn import Module, Parameter, functional, init, utils

from archsearch.nn.autoactivation import AutoActivation
from archsearch.nn.cell import Cell
from archsearch.nn.choice_args import ChoiceArgs, basic_unit
from archsearch.nn.fix import apply_fixed_architecture, fix
from archsearch.nn.fixed import FixedCell, FixedInputChoice, FixedLayerChoice
from archsearch.nn.input_choice import InputChoice
from archsearch.nn.layer_choice import LayerChoice
from archsearch.nn.layers import *  # noqa: F403  (value-choice-aware layers shadow torch.nn's)
from archsearch.nn.model_wrapper import ModelSpace, model_wrapper
from archsearch.nn.mutable import Mutable
from archsearch.nn.nasbench101 import NasBench101Cell, NasBench101FixedCell
from archsearch.nn.nasbench201 import NasBench201Cell
from archsearch.nn.parameter_choice import ModelParameterChoice
from archsearch.nn.repeat import Repeat
from archsearch.nn.scope import MutableScope
from archsearch.nn.value_choice import ChoiceExpression, ValueChoice
from archsearch.nn.walk import ModelChoices, search_space, walk

__all__ = [
    "AutoActivation",
    "Cell",
    "ChoiceArgs",
    "ChoiceExpression",
    "FixedCell",
    "FixedInputChoice",
    "FixedLayerChoice",
    "InputChoice",
    "LayerChoice",
    "ModelChoices",
    "ModelParameterChoice",
    "ModelSpace",
    "Module",
    "Mutable",
    "MutableScope",
    "NasBench101Cell",
    "NasBench101FixedCell",
    "NasBench201Cell",
    "Parameter",
    "Repeat",
    "ValueChoice",
    "apply_fixed_architecture",
    "basic_unit",
    "fix",
    "functional",
    "init",
    "model_wrapper",
    "search_space",
    "utils",
    "walk",
]
