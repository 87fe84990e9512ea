"""The LightningModules behind `Classification` and `Regression` (imports PyTorch Lightning).

Kept apart from `lightning.py` so that building or unpickling an evaluator does not import
Lightning; `evaluate` imports this module when a trial starts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytorch_lightning as pl
import torch

from archsearch.evaluator.base import Reporter


class SupervisedModule(pl.LightningModule):
    """Trains `model` with `criterion` and reports validation metrics once per epoch.

    Subclasses say how a batch is scored: `score` returns (sum, count) of the main metric, so
    the epoch's value is exact whatever the batch sizes. After each validation epoch the metrics
    `{"default": main, "val_loss": ..., "train_loss": ...}` go to `reporter` with the epoch as
    step, and the trainer stops early when the reporter asks it to.
    """

    metric_name = "metric"

    def __init__(
        self,
        model: torch.nn.Module,
        criterion: torch.nn.Module,
        make_optimizer: Callable[[Any], torch.optim.Optimizer],
        reporter: Reporter,
    ) -> None:
        super().__init__()
        self.model = model
        self.criterion = criterion
        self.make_optimizer = make_optimizer
        self.reporter = reporter
        self.history: list[dict[str, float]] = []
        self._train = _Sums()
        self._val = _Sums()

    def forward(self, x: Any) -> Any:
        return self.model(x)

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y = batch
        output = self.model(x)
        self.check_output(output, y)
        loss: torch.Tensor = self.criterion(output, self.target(y, output))
        self._train.add(loss.detach() * len(y), len(y))
        return loss

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        x, y = batch
        output = self.model(x)
        self.check_output(output, y)
        target = self.target(y, output)
        self._val.add(self.criterion(output, target) * len(y), len(y))
        self._val.add_metric(*self.score(output, target))

    def on_train_epoch_start(self) -> None:
        self._train = _Sums()

    def on_validation_epoch_start(self) -> None:
        self._val = _Sums()

    def on_validation_epoch_end(self) -> None:
        if self.trainer.sanity_checking or self._val.count == 0:
            return
        metrics = {"default": self._val.metric(), "val_loss": self._val.loss()}
        if self._train.count:
            metrics["train_loss"] = self._train.loss()
        metrics[self.metric_name] = metrics["default"]
        self.history.append(metrics)
        # Logged too, so Lightning loggers and callbacks (EarlyStopping on "val_loss") see them.
        self.log_dict(metrics)
        self.reporter.report(self.current_epoch, metrics)
        if self.reporter.should_stop():
            self.trainer.should_stop = True

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return self.make_optimizer(self.parameters())

    def target(self, y: torch.Tensor, output: torch.Tensor) -> torch.Tensor:
        """The target as the criterion wants it (regression casts to the output's dtype)."""
        return y

    def check_output(self, output: torch.Tensor, y: torch.Tensor) -> None:
        """ValueError when the model's output cannot be scored against `y`."""

    def score(self, output: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, int]:
        """(sum, count) of the main metric over a batch."""
        raise NotImplementedError


class ClassificationModule(SupervisedModule):
    """Main metric: accuracy of the arg-max of the logits."""

    metric_name = "accuracy"

    def __init__(self, *args: Any, num_classes: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.num_classes = num_classes

    def check_output(self, output: torch.Tensor, y: torch.Tensor) -> None:
        if output.dim() != 2 or output.shape[0] != y.shape[0]:
            raise ValueError(
                f"Classification expects the model to return logits of shape (batch, classes); "
                f"got {tuple(output.shape)} for a batch of {y.shape[0]}"
            )
        if self.num_classes is not None and output.shape[1] != self.num_classes:
            raise ValueError(
                f"the model returns {output.shape[1]} logits per sample but num_classes is "
                f"{self.num_classes}"
            )

    def score(self, output: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, int]:
        return (output.argmax(dim=1) == target).sum(), len(target)


class RegressionModule(SupervisedModule):
    """Main metric: mean squared error over every output element."""

    metric_name = "mse"

    def target(self, y: torch.Tensor, output: torch.Tensor) -> torch.Tensor:
        return y.to(output.dtype)

    def check_output(self, output: torch.Tensor, y: torch.Tensor) -> None:
        # Broadcasting (N, 1) against (N,) would silently compare every pair of samples.
        if output.shape != y.shape:
            raise ValueError(
                f"Regression expects the model output to have the target's shape; got output "
                f"{tuple(output.shape)} and target {tuple(y.shape)} (e.g. return "
                f"out.squeeze(-1), or give targets of shape {tuple(output.shape)})"
            )

    def score(self, output: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, int]:
        return ((output - target) ** 2).sum(), target.numel()


class _Sums:
    """Running sums of an epoch, kept as tensors so no step waits for the device (float32 and
    int64 only, which every accelerator supports)."""

    def __init__(self) -> None:
        self.loss_sum: torch.Tensor | float = 0.0
        self.count = 0
        self.metric_sum: torch.Tensor | float = 0.0
        self.metric_count = 0

    def add(self, loss_sum: torch.Tensor, n: int) -> None:
        self.loss_sum = self.loss_sum + loss_sum.detach().float()
        self.count += n

    def add_metric(self, total: torch.Tensor, n: int) -> None:
        self.metric_sum = self.metric_sum + total.detach()
        self.metric_count += n

    def loss(self) -> float:
        return float(self.loss_sum) / self.count

    def metric(self) -> float:
        return float(self.metric_sum) / self.metric_count
