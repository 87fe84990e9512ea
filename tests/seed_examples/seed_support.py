"""What NNI's documents take from elsewhere, small and offline: DARTS's operations, stand-ins
for torchvision's MNIST/CIFAR10 and transforms (generated data, nothing downloaded), and the
little training helpers the fragments call. Written for these programs; not the documents'."""

from __future__ import annotations

import types
from typing import Any

import numpy as np
import torch
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import Dataset, TensorDataset

# -- DARTS's operations (as the DARTS paper defines them) ------------------------------------


class PoolBN(nn.Module):
    """Max or average pooling followed by batch norm."""

    def __init__(self, pool_type: str, C: int, kernel_size: int, stride: int, padding: int,
                 affine: bool = True) -> None:  # fmt: skip
        super().__init__()
        pools = {"max": nn.MaxPool2d, "avg": nn.AvgPool2d}
        self.pool = pools[pool_type](kernel_size, stride, padding)
        self.bn = nn.BatchNorm2d(C, affine=affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.pool(x))


class DilConv(nn.Module):
    """ReLU, a depthwise (dilated) convolution, a pointwise one, batch norm."""

    def __init__(self, C_in: int, C_out: int, kernel_size: int, stride: int, padding: int,
                 dilation: int, affine: bool = True) -> None:  # fmt: skip
        super().__init__()
        self.net = nn.Sequential(
            nn.ReLU(),
            nn.Conv2d(C_in, C_in, kernel_size, stride, padding, dilation, groups=C_in, bias=False),
            nn.Conv2d(C_in, C_out, 1, bias=False),
            nn.BatchNorm2d(C_out, affine=affine),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.net(x)
        return out


class SepConv(nn.Module):
    """Two DilConv of dilation 1, the first with the stride."""

    def __init__(self, C_in: int, C_out: int, kernel_size: int, stride: int, padding: int,
                 affine: bool = True) -> None:  # fmt: skip
        super().__init__()
        self.net = nn.Sequential(
            DilConv(C_in, C_in, kernel_size, stride, padding, 1, affine),
            DilConv(C_in, C_out, kernel_size, 1, padding, 1, affine),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.net(x)
        return out


class FactorizedReduce(nn.Module):
    """Halves height and width with two offset stride-2 1x1 convolutions, concatenated."""

    def __init__(self, C_in: int, C_out: int, affine: bool = True) -> None:
        super().__init__()
        self.relu = nn.ReLU()
        self.conv1 = nn.Conv2d(C_in, C_out // 2, 1, stride=2, bias=False)
        self.conv2 = nn.Conv2d(C_in, C_out - C_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(C_out, affine=affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        return self.bn(torch.cat([self.conv1(x), self.conv2(x[:, :, 1:, 1:])], dim=1))


# -- data stand-ins ----------------------------------------------------------------------------


def _digit_images(train: bool, n: int) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled 8x8 digits, scaled to 28x28 uint8 images like MNIST's."""
    digits = load_digits()
    images = digits.images if train else digits.images[::-1]
    big = np.kron(images[:n], np.ones((3, 3)))  # 24x24
    big = np.pad(big, ((0, 0), (2, 2), (2, 2)))
    return (big * (255 / 16)).astype(np.uint8), (digits.target if train else digits.target[::-1])[
        :n
    ]


class MNIST(Dataset[Any]):
    """torchvision's MNIST signature over 28x28 digits made from scikit-learn's bundled set."""

    def __init__(self, root: str, train: bool = True, download: bool = False,
                 transform: Any = None) -> None:  # fmt: skip
        self.images, self.targets = _digit_images(train, 1500 if train else 200)  # disjoint
        self.transform = transform

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, i: int) -> tuple[Any, int]:
        image: Any = self.images[i]
        if self.transform is not None:
            image = self.transform(image)
        return image, int(self.targets[i])


def CIFAR10(root: str, train: bool = True, download: bool = False, transform: Any = None,
            n: int = 64) -> TensorDataset:  # fmt: skip
    """torchvision's CIFAR10 signature over random 3x32x32 images whose class is readable from
    their mean colour (so a model can learn something in a few steps)."""
    generator = torch.Generator().manual_seed(0 if train else 1)
    targets = torch.randint(0, 10, (n,), generator=generator)
    images = torch.randn(n, 3, 32, 32, generator=generator) * 0.1
    images += (targets.float() / 10).view(n, 1, 1, 1)
    return TensorDataset(images, targets)


class _Compose:
    def __init__(self, steps: list[Any]) -> None:
        self.steps = steps

    def __call__(self, x: Any) -> Any:
        for step in self.steps:
            x = step(x)
        return x


class _ToTensor:
    def __call__(self, image: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(image).float().div(255).unsqueeze(0)


class _Normalize:
    def __init__(self, mean: tuple[float, ...], std: tuple[float, ...]) -> None:
        self.mean, self.std = mean, std

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean[0]) / self.std[0]


transforms = types.SimpleNamespace(Compose=_Compose, ToTensor=_ToTensor, Normalize=_Normalize)
"""torchvision.transforms' three names the Retiarii document uses."""
# serialize() finds classes by their import path: give the namespace's classes theirs.
_Compose.__qualname__, _ToTensor.__qualname__, _Normalize.__qualname__ = (
    "transforms.Compose", "transforms.ToTensor", "transforms.Normalize",
)  # fmt: skip


# -- training helpers the fragments call -------------------------------------------------------


def accuracy(
    output: torch.Tensor, target: torch.Tensor, topk: tuple[int, ...] = (1,)
) -> dict[str, float]:
    """DARTS's example helper: top-k accuracies as {"acc1": ...}."""
    best = output.topk(max(topk), dim=1).indices
    return {
        f"acc{k}": (best[:, :k] == target.unsqueeze(1)).any(1).float().mean().item() for k in topk
    }


def train(model: nn.Module, steps: int = 20) -> None:
    """A few SGD steps on MNIST-shaped digits."""
    data = MNIST("data", train=True, transform=_Compose([_ToTensor()]))
    x = torch.stack([data[i][0] for i in range(len(data))])
    y = torch.tensor([data[i][1] for i in range(len(data))])
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(steps):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()


def test(model: nn.Module) -> float:
    """Accuracy on the held-out digits."""
    data = MNIST("data", train=False, transform=_Compose([_ToTensor()]))
    x = torch.stack([data[i][0] for i in range(len(data))])
    y = torch.tensor([data[i][1] for i in range(len(data))])
    with torch.no_grad():
        return (model(x).argmax(1) == y).float().mean().item()
