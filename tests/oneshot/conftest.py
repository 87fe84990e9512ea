"""Data shared by the one-shot tests (the small search spaces are in oneshot_models.py)."""

from __future__ import annotations

import pytest
from torch.utils.data import Subset

from archsearch.evaluator import Split, load_digits


@pytest.fixture(scope="session")
def digits() -> Split:
    """The digits split, cut to 512 train / 256 test images so each epoch takes well under 1 s."""
    split = load_digits()
    return Split(
        Subset(split.train, range(512)),
        Subset(split.test, range(256)),
        split.input_shape,
        split.num_classes,
    )
