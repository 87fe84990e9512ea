"""Alphas: one parameter vector per label, under names a state dict can hold."""

from __future__ import annotations

import pytest
import torch

from archsearch.oneshot.alphas import Alphas
from archsearch.space import InputChoiceDim, LayerChoiceDim, SearchSpace, ValueChoiceDim


def test_every_label_gets_its_own_parameter_even_with_reserved_names() -> None:
    labels = ["cell.0/op", "cell%2E0/op", "keys", "training", "probabilities", "_keys", ""]
    space = SearchSpace([LayerChoiceDim(label, ("a", "b", "c")) for label in labels])
    torch.manual_seed(0)
    alphas = Alphas(space)
    assert list(alphas) == labels and len(alphas) == len(labels)
    names = [name for name, _ in alphas.named_parameters()]
    assert len(set(names)) == len(labels) and all("." not in name for name in names)
    assert [id(p) for p in alphas.parameters()] == [id(alphas[label]) for label in labels]
    assert all(0 < float(alphas[label].detach().abs().max()) < 0.01 for label in labels)
    # The names of earlier checkpoints (alphas in a ParameterDict) are kept.
    assert "cell%2E0%2Fop" in names and "%6Beys" in names
    with pytest.raises(KeyError, match="no architecture parameters for label 'other'"):
        alphas["other"]


def test_sizes_zeros_and_probabilities() -> None:
    space = SearchSpace(
        [
            LayerChoiceDim("op", ("a", "b")),
            InputChoiceDim("skip", 3, None, ("x", "y", "z")),
            ValueChoiceDim("width", (8, 16, 32, 64)),
        ]
    )
    alphas = Alphas(space, std=0.0)
    assert [len(alphas[label]) for label in alphas] == [2, 3, 4]
    probs = alphas.probabilities(independent={"skip"})
    assert torch.equal(probs["op"], torch.full((2,), 0.5))
    assert torch.equal(probs["skip"], torch.full((3,), 0.5))  # sigmoid(0) per input
    assert torch.allclose(probs["width"], torch.full((4,), 0.25))
    assert not probs["op"].requires_grad
