"""MNIST classifiers: LeNet-300-100, LeNet-5-Caffe, and the CNN of ``shared/data/models/mnist_cnn.pth``.

Every model takes ``[N, 1, 28, 28]`` images in ``[0, 1]`` and normalizes them itself with the
MNIST mean/std, so all models share one data pipeline.
"""
from __future__ import annotations

from torch import Tensor, nn

from nwcodec.errors import ConfigError

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081


class LeNet300100(nn.Module):
    """Fully connected 784-300-100-10 with ReLU (266,610 params)."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(784, 300), nn.Linear(300, 100), nn.Linear(100, 10)
        self.act = nn.ReLU()

    def forward(self, x: Tensor) -> Tensor:
        x = ((x - MNIST_MEAN) / MNIST_STD).flatten(1)
        return self.fc3(self.act(self.fc2(self.act(self.fc1(x)))))


class LeNet5Caffe(nn.Module):
    """Conv 20 5x5, pool, conv 50 5x5, pool, fc 500, fc 10 (431,080 params)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 20, 5), nn.Conv2d(20, 50, 5)
        self.fc1, self.fc2 = nn.Linear(800, 500), nn.Linear(500, 10)
        self.act, self.pool = nn.ReLU(), nn.MaxPool2d(2)

    def forward(self, x: Tensor) -> Tensor:
        x = (x - MNIST_MEAN) / MNIST_STD
        x = self.pool(self.act(self.conv1(x)))
        x = self.pool(self.act(self.conv2(x)))
        return self.fc2(self.act(self.fc1(x.flatten(1))))


class MnistCNN(nn.Module):
    """The architecture of ``mnist_cnn.pth`` (421,642 params): keys ``features.{0,3}``, ``classifier.{0,2}``."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10))

    def forward(self, x: Tensor) -> Tensor:
        x = (x - MNIST_MEAN) / MNIST_STD
        return self.classifier(self.features(x).flatten(1))


MODELS = {"lenet300": LeNet300100, "lenet5": LeNet5Caffe, "mnist_cnn": MnistCNN}


def build_model(name: str) -> nn.Module:
    """Instantiate a model by its config name."""
    if name not in MODELS:
        raise ConfigError(f"model: unknown model {name!r} (known: {', '.join(MODELS)})")
    return MODELS[name]()
