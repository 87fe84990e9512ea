"""Architecture parameters: one vector of logits per label (shared by DARTS, GDAS and
ProxylessNAS)."""

from __future__ import annotations

from collections.abc import Container, Iterator

import torch

from archsearch.mutator import Mutator
from archsearch.space import SearchSpace


class Alphas(torch.nn.Module):
    """One `nn.Parameter` of logits per label of `space`, one entry per candidate (the length of
    the label's masks), drawn from N(0, `std`²) in label order (zeros when `std` is 0).

    `alphas[label]` is that label's parameter; `alphas.parameters()` are exactly the logits, and
    the state dict is keyed by the labels, escaped (a parameter name may not hold '.')."""

    def __init__(self, space: SearchSpace, std: float = 1e-3) -> None:
        super().__init__()
        # Every key first, so the escaping sees this module's own attributes only.
        reserved = torch.nn.ParameterDict()
        self._keys = {label: self._key(label, reserved) for label in space}
        for label, dim in space.items():
            size = dim.mask_size
            logits = std * torch.randn(size) if std else torch.zeros(size)
            self.register_parameter(self._keys[label], torch.nn.Parameter(logits))

    def __getitem__(self, label: str) -> torch.nn.Parameter:
        try:
            alpha: torch.nn.Parameter = getattr(self, self._keys[label])
        except KeyError:
            raise KeyError(
                f"no architecture parameters for label {label!r}; labels: {list(self._keys)}"
            ) from None
        return alpha

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    @torch.no_grad()
    def probabilities(self, independent: Container[str] = ()) -> dict[str, torch.Tensor]:
        """softmax(α) per label, detached, in label order; sigmoid(α) per entry for the labels in
        `independent` (inputs kept or dropped one by one)."""
        return {
            label: torch.sigmoid(alpha) if label in independent else torch.softmax(alpha, -1)
            for label, alpha in ((label, self[label]) for label in self._keys)
        }

    def _key(self, label: str, reserved: torch.nn.Module) -> str:
        """The parameter name of a label: '%', '.' and '/' percent-encoded, and the first
        character too when the name would shadow an attribute of this module or of `reserved`
        (labels such as "training", or "keys": the names of earlier checkpoints, which held the
        alphas in a ParameterDict). Distinct labels always get distinct names."""
        key = "".join(f"%{ord(c):02X}" if c in "%./" else c for c in label)
        if not key or hasattr(self, key) or hasattr(reserved, key):
            key = f"%{ord(key[0]):02X}{key[1:]}" if key else "%"
        return key


class AlphaMutator(Mutator):
    """A mutator whose decisions derive from `self.alphas`, an `Alphas` over its whole search
    space drawn from N(0, `std`²); `mutator.parameters()` is exactly the alphas."""

    def __init__(self, model: torch.nn.Module, std: float = 1e-3) -> None:
        super().__init__(model)
        self.alphas = Alphas(self.search_space, std)

    def probabilities(self) -> dict[str, torch.Tensor]:
        """softmax(α) per label (detached), in model order."""
        return self.alphas.probabilities()
