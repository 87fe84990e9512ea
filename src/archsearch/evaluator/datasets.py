"""Offline datasets: MNIST-1D generated locally and scikit-learn's bundled digits.

Nothing is downloaded. MNIST-1D is generated with its reference procedure
(`make_dataset(get_dataset_args())`) and cached as .npz under `$ARCHSEARCH_HOME/datasets`
(default `~/.archsearch`), since generating it takes a few seconds.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, TensorDataset

from archsearch.space.home import archsearch_home


@dataclass(frozen=True)
class Split:
    """A train/test split as tensor datasets, with the input shape and number of classes."""

    train: Dataset[Any]
    test: Dataset[Any]
    input_shape: tuple[int, ...]
    num_classes: int


def load_mnist1d(seed: int = 42, *, channels_first: bool = True, cache: bool = True) -> Split:
    """MNIST-1D (4,000 train / 1,000 test sequences of length 40, 10 classes).

    Inputs are float32 of shape (N, 1, 40) with `channels_first` (for Conv1d), else (N, 40).
    A linear model reaches about 32% test accuracy and a small CNN about 94%.
    """
    path = archsearch_home() / "datasets" / f"mnist1d-seed{seed}.npz"
    if cache and path.exists():
        with np.load(path) as data:
            arrays = {k: data[k] for k in ("x", "y", "x_test", "y_test")}
    else:
        arrays = _generate_mnist1d(seed)
        if cache:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")
            x, y, x_test, y_test = (arrays[k] for k in ("x", "y", "x_test", "y_test"))
            np.savez_compressed(tmp, x=x, y=y, x_test=x_test, y_test=y_test)
            os.replace(tmp, path)  # atomic: parallel workers never read half a file

    def tensors(x: np.ndarray, y: np.ndarray) -> TensorDataset:
        inputs = torch.as_tensor(x, dtype=torch.float32)
        if channels_first:
            inputs = inputs.unsqueeze(1)
        return TensorDataset(inputs, torch.as_tensor(y, dtype=torch.long))

    train = tensors(arrays["x"], arrays["y"])
    shape = tuple(train.tensors[0].shape[1:])
    return Split(train, tensors(arrays["x_test"], arrays["y_test"]), shape, 10)


def _generate_mnist1d(seed: int) -> dict[str, np.ndarray]:
    try:
        from mnist1d.data import get_dataset_args, make_dataset
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "MNIST-1D needs the mnist1d package: pip install 'archsearch[data]'"
        ) from exc
    args = get_dataset_args()
    args.seed = seed
    data = make_dataset(args)
    return {k: np.asarray(data[k]) for k in ("x", "y", "x_test", "y_test")}


def load_digits(test_fraction: float = 0.25, seed: int = 0) -> Split:
    """scikit-learn's bundled 8×8 digits (1,797 images, 10 classes), (N, 1, 8, 8) in [0, 1]."""
    from sklearn.datasets import load_digits as sklearn_digits

    data = sklearn_digits()
    x = torch.as_tensor(data.images / 16.0, dtype=torch.float32).unsqueeze(1)
    y = torch.as_tensor(data.target, dtype=torch.long)
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    n_test = int(len(y) * test_fraction)
    test, train = order[:n_test], order[n_test:]
    return Split(TensorDataset(x[train], y[train]), TensorDataset(x[test], y[test]), (1, 8, 8), 10)
