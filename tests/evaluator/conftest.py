"""Fixtures for the evaluator tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture
def one_thread() -> Iterator[None]:
    """Run on one CPU thread: the tests' small convolutions gain nothing from more, and on a
    busy machine extra threads spin against other jobs (tens of times slower)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
