"""Lightning-based evaluators: `Classification` and `Regression` (NNI's names and arguments).

Each trains the fixed model with a `pytorch_lightning.Trainer` and reports the validation metric
of every epoch. PyTorch Lightning is imported when an evaluator is constructed (to check the
trainer arguments) and when a trial runs, never by `import archsearch.evaluator`.
`DataLoader` is torch's, taking a `serialize` recipe as its dataset too, here because NNI's
examples take it from the module of these evaluators (`pl.DataLoader`).
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import logging
import warnings
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import torch

from archsearch.evaluator.base import Evaluator, Metric, Reporter
from archsearch.evaluator.choices import evaluator_choices, fix_evaluator, possible_values
from archsearch.evaluator.dataloader import DataLoader as DataLoader  # NNI's `pl.DataLoader`
from archsearch.evaluator.reporter import AmbientReporter, report_final_result
from archsearch.evaluator.serialize import built
from archsearch.nn.value_choice import ChoiceExpression

if TYPE_CHECKING:
    from archsearch.evaluator.lightning_module import SupervisedModule

TRIAL_TRAINER_DEFAULTS: Mapping[str, Any] = {
    "accelerator": "auto",
    "devices": 1,
    "logger": False,
    "enable_checkpointing": False,
    "enable_progress_bar": False,
    "enable_model_summary": False,
    "num_sanity_val_steps": 0,
}
"""Trainer settings inside a trial, overridable through the evaluator's keyword arguments:
CUDA when present, one device, and nothing written or printed that a trial does not need."""


class SupervisedEvaluator(Evaluator):
    """Shared part of `Classification` and `Regression`: data, optimiser, trainer settings.

    Any argument may be a `ValueChoice` (learning rate, weight decay, epochs, a Trainer
    argument, a `serialize(DataLoader, ..., batch_size=ValueChoice([...]))` recipe): it joins
    the experiment's search space and each trial trains with its value (`choices.py`).

    Data comes as `train_dataloaders` and `val_dataloaders` (DataLoaders yielding
    `(input, target)` batches, or recipes made by `archsearch.evaluator.serialize`, built in
    the trial's process on first use) or as a Lightning `datamodule`; `train_dataloader` is
    NNI 2.x's spelling of `train_dataloaders`. Remaining keyword arguments go to
    `pytorch_lightning.Trainer` over `TRIAL_TRAINER_DEFAULTS`.
    """

    default_criterion: Callable[[], torch.nn.Module] = torch.nn.MSELoss
    keyword_attributes = ("trainer_kwargs",)

    def __init__(
        self,
        train_dataloaders: Any = None,
        val_dataloaders: Any = None,
        *,
        criterion: torch.nn.Module | Callable[[], torch.nn.Module] | None = None,
        learning_rate: float | ChoiceExpression = 1e-3,
        weight_decay: float | ChoiceExpression = 0.0,
        optimizer: Callable[..., torch.optim.Optimizer] = torch.optim.Adam,
        datamodule: Any = None,
        max_epochs: int | ChoiceExpression = 10,
        export_onnx: bool = False,
        train_dataloader: Any = None,
        **trainer_kwargs: Any,
    ) -> None:
        name = type(self).__name__
        if train_dataloader is not None:
            if train_dataloaders is not None:
                raise ValueError(
                    f"{name}: give train_dataloaders or train_dataloader (NNI 2.x's name for the "
                    "same argument), not both"
                )
            train_dataloaders = train_dataloader
        _check_data(name, train_dataloaders, val_dataloaders, datamodule)
        if export_onnx:
            raise ValueError(
                f"{name}(export_onnx=True) is not supported: trials train plain PyTorch models; "
                "export the chosen one with torch.onnx.export after the search"
            )
        _check_numbers(
            name,
            ("learning_rate", learning_rate, 0.0, False),
            ("weight_decay", weight_decay, 0.0, True),
            ("max_epochs", max_epochs, 1, True),
        )
        if not callable(optimizer) or (criterion is not None and not callable(criterion)):
            raise TypeError(
                f"{name}: optimizer is a class (e.g. torch.optim.SGD) and criterion a class or "
                f"a loss module (e.g. torch.nn.CrossEntropyLoss); got {optimizer!r} and "
                f"{criterion!r}"
            )
        self.train_dataloaders = train_dataloaders
        self.val_dataloaders = val_dataloaders
        self.datamodule = datamodule
        self.criterion = criterion if criterion is not None else self.default_criterion
        # Numbers in a trial (`fix_evaluator` replaces the choices); choices until then.
        self.learning_rate: Any = learning_rate
        self.weight_decay: Any = weight_decay
        self.optimizer = optimizer
        self.trainer_kwargs: dict[str, Any] = {
            **TRIAL_TRAINER_DEFAULTS,
            "max_epochs": max_epochs,
            **trainer_kwargs,
        }
        _check_trainer_kwargs(name, self.trainer_kwargs)
        self._data: dict[str, Any] | None = None  # built recipes, kept for the next trial

    def evaluate(self, model: torch.nn.Module, reporter: Reporter) -> Metric | None:
        """Train `model` for the configured epochs, reporting each validation; return the last
        epoch's metrics (main value at "default")."""
        return self._train(model, reporter)

    def _train(self, model: torch.nn.Module, reporter: Reporter) -> dict[str, Any]:
        import pytorch_lightning as pl

        module = self.lightning_module(model, reporter)
        with _quiet_lightning():
            trainer = pl.Trainer(**self.trainer_kwargs)
            trainer.fit(module, **self.data())
        if not module.history:
            raise RuntimeError(
                f"{type(self).__name__}: training ended without a validation epoch, so there is "
                "no metric (check max_epochs, limit_val_batches and check_val_every_n_epoch)"
            )
        return module.history[-1]

    def fit(self, model: torch.nn.Module, arch: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """NNI's `evaluator.fit(model)`: train `model` in place with this evaluator's data and
        settings, and return the last epoch's metrics, which are also reported as the final
        result. Each epoch's metrics go to `report_intermediate_result` (the running trial's,
        when called inside one; logged otherwise). Value choices among the arguments take
        their value in `arch` (an exported architecture, say), else their first candidate."""
        values = {**evaluator_choices(self).default(), **(arch or {})}
        metrics = fix_evaluator(self, values)._train(model, AmbientReporter())
        report_final_result(metrics)
        return metrics

    def lightning_module(self, model: torch.nn.Module, reporter: Reporter) -> SupervisedModule:
        """The LightningModule that trains `model` (subclasses choose which)."""
        raise NotImplementedError

    def make_criterion(self) -> torch.nn.Module:
        """This trial's loss: a new instance of the criterion class, or a copy of a module."""
        if isinstance(self.criterion, torch.nn.Module):
            return copy.deepcopy(self.criterion)
        return self.criterion()

    def make_optimizer(self, parameters: Any) -> torch.optim.Optimizer:
        """The optimiser over `parameters`, with this evaluator's learning rate and decay."""
        return self.optimizer(parameters, lr=self.learning_rate, weight_decay=self.weight_decay)

    def data(self) -> dict[str, Any]:
        """`Trainer.fit` data arguments, serialized recipes built once per process."""
        if self._data is None:
            if self.datamodule is not None:
                self._data = {"datamodule": built(self.datamodule)}
            else:
                self._data = {
                    "train_dataloaders": built(self.train_dataloaders),
                    "val_dataloaders": built(self.val_dataloaders),
                }
        return self._data

    def __getstate__(self) -> dict[str, Any]:
        # Built loaders stay in the process that built them; the recipes travel.
        return {**self.__dict__, "_data": None}


class Classification(SupervisedEvaluator):
    """Trains a classifier (logits out, class indices as targets) with cross-entropy by default.

    Reports `{"default": validation accuracy, "accuracy", "val_loss", "train_loss"}` after every
    epoch (step = epoch) and returns the last epoch's. Maximise it (the default optimize mode).
    `num_classes`, when given, is checked against the model's number of logits.
    """

    default_criterion = torch.nn.CrossEntropyLoss

    def __init__(
        self,
        train_dataloaders: Any = None,
        val_dataloaders: Any = None,
        *,
        num_classes: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(train_dataloaders, val_dataloaders, **kwargs)
        for value in possible_values(num_classes):
            if value is not None and (not isinstance(value, int) or value < 2):
                raise ValueError(f"num_classes must be an int >= 2, got {value!r}")
        self.num_classes = num_classes

    def lightning_module(self, model: torch.nn.Module, reporter: Reporter) -> SupervisedModule:
        from archsearch.evaluator.lightning_module import ClassificationModule

        return ClassificationModule(
            model,
            self.make_criterion(),
            self.make_optimizer,
            reporter,
            num_classes=self.num_classes,
        )


class Regression(SupervisedEvaluator):
    """Trains a regressor (output shaped like the target) with mean squared error by default.

    Reports `{"default": validation MSE, "mse", "val_loss", "train_loss"}` after every epoch
    (step = epoch) and returns the last epoch's. Lower is better: run the experiment with
    `optimize_mode="minimize"`.
    """

    default_criterion = torch.nn.MSELoss

    def lightning_module(self, model: torch.nn.Module, reporter: Reporter) -> SupervisedModule:
        from archsearch.evaluator.lightning_module import RegressionModule

        return RegressionModule(model, self.make_criterion(), self.make_optimizer, reporter)


def _check_data(name: str, train: Any, val: Any, datamodule: Any) -> None:
    if datamodule is not None:
        if train is not None or val is not None:
            raise ValueError(f"{name}: pass either a datamodule or dataloaders, not both")
        return
    if train is None or val is None:
        missing = " and ".join(
            n for n, v in (("train_dataloaders", train), ("val_dataloaders", val)) if v is None
        )
        raise ValueError(
            f"{name} needs {missing}: training data, and validation data for the trial's metric "
            "(DataLoaders, serialize(DataLoader, ...) recipes, or a datamodule)"
        )


def _check_numbers(name: str, *rules: tuple[str, Any, float, bool]) -> None:
    """ValueError unless each (argument, value, bound, bound allowed) holds for every value the
    argument may take (each candidate of a value choice)."""
    for argument, value, bound, inclusive in rules:
        for candidate in possible_values(value):
            if not isinstance(candidate, (int, float)) or isinstance(candidate, bool):
                raise TypeError(f"{name}: {argument} must be a number, got {candidate!r}")
            if candidate < bound or (candidate == bound and not inclusive):
                rule = ">=" if inclusive else ">"
                raise ValueError(
                    f"{name} needs {argument} {rule} {bound:g}; got {candidate!r}"
                    + (f" (a candidate of {value!r})" if candidate is not value else "")
                )


def _check_trainer_kwargs(name: str, kwargs: Mapping[str, Any]) -> None:
    """TypeError for arguments pytorch_lightning.Trainer does not take (caught here, once,
    rather than by every trial)."""
    try:
        import pytorch_lightning as pl
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            f"{name} needs PyTorch Lightning: pip install 'archsearch[lightning]'"
        ) from exc
    parameters = inspect.signature(pl.Trainer.__init__).parameters
    unknown = sorted(set(kwargs) - set(parameters))
    if unknown:
        raise TypeError(
            f"{name} got {', '.join(map(repr, unknown))}, which are neither its own arguments "
            "nor pytorch_lightning.Trainer's (see the Trainer documentation)"
        )


@contextlib.contextmanager
def _quiet_lightning() -> Iterator[None]:
    """Keep Lightning's per-fit info lines (devices, tips) out of trial logs; warnings stay."""
    logger = logging.getLogger("pytorch_lightning")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            # Lightning calls a torch API that torch has deprecated; nothing a user can act on.
            warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)")
            yield
    finally:
        logger.setLevel(level)
