"""One-shot NAS: weight-sharing supernets trained by DARTS, ENAS, SPOS, ProxylessNAS, GDAS and
random sampling, all over one explicit training loop (`BaseOneShotTrainer`)."""

from archsearch.oneshot.base import BaseOneShotTrainer
from archsearch.oneshot.callbacks import (
    ArchitectureCheckpoint,
    Callback,
    LRSchedulerCallback,
    ModelCheckpoint,
)
from archsearch.oneshot.constraints import FlopsConstraint, ParameterConstraint
from archsearch.oneshot.darts import DartsMutator, DartsTrainer
from archsearch.oneshot.enas import EnasTrainer
from archsearch.oneshot.enas_controller import EnasMutator
from archsearch.oneshot.gdas import GdasMutator, GdasTrainer
from archsearch.oneshot.metrics import accuracy
from archsearch.oneshot.proxyless import ProxylessMutator, ProxylessTrainer
from archsearch.oneshot.random import RandomTrainer
from archsearch.oneshot.spos import SposTrainer

BaseTrainer = BaseOneShotTrainer
"""NNI's name."""
SinglePathTrainer = RandomTrainer
"""NNI 2.x's name (`nni.retiarii.oneshot.pytorch.SinglePathTrainer`)."""

__all__ = [
    "ArchitectureCheckpoint",
    "BaseOneShotTrainer",
    "BaseTrainer",
    "Callback",
    "DartsMutator",
    "DartsTrainer",
    "EnasMutator",
    "EnasTrainer",
    "FlopsConstraint",
    "GdasMutator",
    "GdasTrainer",
    "LRSchedulerCallback",
    "ModelCheckpoint",
    "ParameterConstraint",
    "ProxylessMutator",
    "ProxylessTrainer",
    "RandomTrainer",
    "SinglePathTrainer",
    "SposTrainer",
    "accuracy",
]
