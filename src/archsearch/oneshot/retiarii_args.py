"""NNI 2.x's Retiarii one-shot signatures, accepted beside NNI v1's.

`nni.retiarii.oneshot.pytorch.DartsTrainer(model, loss, metrics, optimizer, num_epochs, dataset,
grad_clip=5., learning_rate=2.5E-3, ..., arc_learning_rate=3.0E-4, unrolled=False)` (and ENAS's
and ProxylessNAS's alike) take one `dataset` and split it in half, where v1's trainers take
`dataset_train` and `dataset_valid`. The trainers keep v1's parameters and add NNI 2.x's as
keywords; these helpers turn a call in either form into the v1 arguments, and refuse a call that
mixes them.
"""

from __future__ import annotations

import inspect
import numbers
import warnings
from collections.abc import Mapping, Sized
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils.data import Dataset, Subset

from archsearch.oneshot.enas_controller import EnasMutator

_POSITIONAL = (
    "{trainer}: the argument after the dataset is {field} in NNI 2.x's signature but "
    "dataset_valid in NNI v1's; got {value!r}. Pass {field}= (and what follows) by keyword"
)


def datasets(
    trainer: str,
    dataset_train: Dataset[Any] | None,
    dataset_valid: Any,
    dataset: Dataset[Any] | None,
    *,
    split: str,
    after_dataset: str,
    retiarii_only: Mapping[str, Any] | None = None,
) -> tuple[Dataset[Any], Dataset[Any], bool]:
    """`(dataset_train, dataset_valid, retiarii)` for the trainer's v1 code.

    NNI 2.x's form is `dataset=` (or one dataset in the 6th positional place with no
    `dataset_valid`): it is split as NNI splits it. `split="bilevel"` (DARTS, ProxylessNAS: NNI
    trains weights on the first `n // 2` items and the architecture on the rest) returns the
    whole dataset as `dataset_train`, which the bi-level trainers halve the same way, and the
    second half as `dataset_valid` (the per-epoch validation NNI 2.x does not have).
    `split="enas"` (NNI: weights on all but the last `n // 2`, the controller on those) returns
    the two parts. `after_dataset` names NNI 2.x's next positional parameter, for the error when
    a number lands in `dataset_valid`. `retiarii_only` holds the NNI 2.x-only keywords given
    (None: not given), refused beside v1's two datasets.
    """
    given = {k: v for k, v in (retiarii_only or {}).items() if v is not None}
    if dataset is not None:
        pairs = (("dataset_train", dataset_train), ("dataset_valid", dataset_valid))
        mixed = [name for name, value in pairs if value is not None]
        if mixed:
            raise TypeError(
                f"{trainer}: pass either NNI 2.x's dataset= (one dataset, split in half) or NNI "
                f"v1's dataset_train and dataset_valid, not both (got dataset and "
                f"{' and '.join(mixed)})"
            )
        return (*_split(trainer, dataset, split), True)
    if isinstance(dataset_valid, numbers.Number | str):
        value = dataset_valid
        raise TypeError(_POSITIONAL.format(trainer=trainer, field=after_dataset, value=value))
    if dataset_train is None:
        raise TypeError(
            f"{trainer} needs a dataset: NNI 2.x's dataset= (split in half) or NNI v1's "
            "dataset_train and dataset_valid"
        )
    if dataset_valid is None:  # NNI 2.x's form, the dataset given by position
        return (*_split(trainer, dataset_train, split), True)
    if given:
        raise TypeError(
            f"{trainer}: {', '.join(sorted(given))} belong(s) to NNI 2.x's signature, which "
            "takes one dataset=; with NNI v1's dataset_train and dataset_valid leave "
            f"{'it' if len(given) == 1 else 'them'} out (see the migration table)"
        )
    return dataset_train, dataset_valid, False


def _split(trainer: str, dataset: Dataset[Any], split: str) -> tuple[Dataset[Any], Dataset[Any]]:
    if not isinstance(dataset, Sized) or len(dataset) < 2:
        raise ValueError(f"{trainer} needs a dataset with a length of at least 2 to split")
    n = len(dataset)
    if split == "bilevel":
        return dataset, Subset(dataset, range(n // 2, n))
    assert split == "enas", split
    first = n - n // 2
    return Subset(dataset, range(first)), Subset(dataset, range(first, n))


def clip_norm(trainer: str, grad_clip: float | None) -> float | None:
    """The gradient-norm bound: None or 0 (NNI: "set to 0 to disable") mean no clipping."""
    if grad_clip is None or grad_clip == 0:
        return None
    if not grad_clip > 0:
        raise ValueError(
            f"{trainer}: grad_clip must be > 0, 0 or None (no clipping), got {grad_clip}"
        )
    return float(grad_clip)


def check_learning_rate(
    trainer: str, learning_rate: float | None, optimizer: torch.optim.Optimizer
) -> None:
    """NNI 2.x's DartsTrainer documents `learning_rate` but never uses it: the weight optimizer's
    own learning rate applies. Warn when the two differ, so the value is not silently lost."""
    if learning_rate is None:
        return
    rates = sorted({float(group["lr"]) for group in optimizer.param_groups})
    if rates != [float(learning_rate)]:
        warnings.warn(
            f"{trainer}: learning_rate={learning_rate} is not used (nor is it by NNI 2.x): the "
            f"weights are trained by the optimizer passed, at lr {', '.join(map(str, rates))}",
            UserWarning,
            stacklevel=3,
        )


@dataclass(frozen=True)
class EnasArguments:
    """EnasTrainer's v1 settings, from a call in either form."""

    dataset_train: Dataset[Any]
    dataset_valid: Dataset[Any]
    child_steps: int
    mutator_steps: int
    mutator_lr: float
    mutator_steps_aggregate: int
    controller: dict[str, Any]
    """Keyword arguments of `EnasMutator` (NNI 2.x's `ctrl_kwargs`)."""


V1_ENAS: dict[str, Any] = {
    "child_steps": 500,
    "mutator_steps": 50,
    "mutator_lr": 0.00035,
    "aggregate": 20,
}
"""EnasTrainer's v1 defaults (NNI v1's)."""


def enas_arguments(
    dataset_train: Dataset[Any] | None,
    dataset_valid: Any,
    dataset: Dataset[Any] | None,
    *,
    batch_size: int,
    child_steps: int | None,
    mutator_steps: int | None,
    mutator_lr: float,
    mutator_steps_aggregate: int,
    ctrl_lr: float | None,
    ctrl_steps_aggregate: int | None,
    ctrl_kwargs: Mapping[str, Any] | None,
    has_mutator: bool,
) -> EnasArguments:
    """NNI 2.x's EnasTrainer (`dataset`, `ctrl_lr`, `ctrl_steps_aggregate`, `ctrl_kwargs`; an
    epoch is one pass over each part of the dataset) or NNI v1's (`dataset_train`,
    `dataset_valid`, `mutator_lr`, `mutator_steps_aggregate`, `child_steps` and
    `mutator_steps` batches per epoch)."""
    retiarii_only = {
        "ctrl_lr": ctrl_lr,
        "ctrl_steps_aggregate": ctrl_steps_aggregate,
        "ctrl_kwargs": ctrl_kwargs,
    }
    train, valid, retiarii = datasets(
        "EnasTrainer", dataset_train, dataset_valid, dataset, split="enas",
        after_dataset="batch_size", retiarii_only=retiarii_only,
    )  # fmt: skip
    for new, old, value, default in (
        ("ctrl_lr", "mutator_lr", mutator_lr, V1_ENAS["mutator_lr"]),
        (
            "ctrl_steps_aggregate",
            "mutator_steps_aggregate",
            mutator_steps_aggregate,
            V1_ENAS["aggregate"],
        ),
    ):
        if retiarii_only[new] is not None and value != default:
            raise TypeError(
                f"EnasTrainer: {new} (NNI 2.x) and {old} (NNI v1) are the same setting; pass one"
            )
    lr = mutator_lr if ctrl_lr is None else float(ctrl_lr)
    aggregate = mutator_steps_aggregate if ctrl_steps_aggregate is None else ctrl_steps_aggregate
    if retiarii and child_steps is None:
        child_steps = _batches(train, batch_size)
    if retiarii and mutator_steps is None:
        # NNI 2.x scores one path per batch of the controller's part, stepping every
        # `aggregate` batches.
        mutator_steps = _batches(valid, batch_size) // max(aggregate, 1)
    return EnasArguments(
        train,
        valid,
        V1_ENAS["child_steps"] if child_steps is None else child_steps,
        V1_ENAS["mutator_steps"] if mutator_steps is None else mutator_steps,
        lr,
        aggregate,
        _controller(ctrl_kwargs, has_mutator),
    )


def _batches(dataset: Dataset[Any], batch_size: int) -> int:
    assert isinstance(dataset, Sized)  # split parts are Subsets
    return -(-len(dataset) // batch_size)


def _controller(ctrl_kwargs: Mapping[str, Any] | None, has_mutator: bool) -> dict[str, Any]:
    if not ctrl_kwargs:
        return {}
    if has_mutator:
        raise TypeError(
            "EnasTrainer: ctrl_kwargs configure the controller it builds; not "
            "with a mutator= already built"
        )
    valid = [n for n in inspect.signature(EnasMutator).parameters if n != "model"]
    unknown = sorted(set(ctrl_kwargs) - set(valid))
    if unknown:
        raise TypeError(f"EnasTrainer: unknown ctrl_kwargs {unknown}; the controller takes {valid}")
    return dict(ctrl_kwargs)
