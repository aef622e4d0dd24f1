"""MNIST from ``mnist.npz`` (no pickle), or a procedural digit-like stand-in for bare clones."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nwcodec.errors import InputError

MNIST_KEYS = ("x_train", "y_train", "x_test", "y_test")


@dataclass
class Split:
    """Images uint8 ``[N, 28, 28]`` and labels int64 ``[N]``."""

    images: np.ndarray
    labels: np.ndarray


def load_mnist_npz(path: str | Path) -> tuple[Split, Split]:
    """Load the train and test splits of ``mnist.npz`` (``allow_pickle=False``)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"MNIST file not found: {path}")
    with np.load(path, allow_pickle=False) as data:
        missing = [k for k in MNIST_KEYS if k not in data]
        if missing:
            raise InputError(f"{path}: missing arrays {missing}")
        arrays = {k: data[k] for k in MNIST_KEYS}
    for key in ("x_train", "x_test"):
        if arrays[key].ndim != 3 or arrays[key].shape[1:] != (28, 28):
            raise InputError(f"{path}: {key} must be [N, 28, 28], got {arrays[key].shape}")
    return (Split(arrays["x_train"].astype(np.uint8), arrays["y_train"].astype(np.int64)),
            Split(arrays["x_test"].astype(np.uint8), arrays["y_test"].astype(np.int64)))


def _stroke_templates(rng: np.random.Generator, classes: int = 10) -> np.ndarray:
    """One 28x28 template per class: three thick line segments at class-specific places."""
    yy, xx = np.mgrid[0:28, 0:28].astype(np.float64)
    templates = np.zeros((classes, 28, 28))
    for c in range(classes):
        for _ in range(3):
            (y0, x0), (y1, x1) = rng.uniform(6, 22, size=(2, 2))
            dy, dx = y1 - y0, x1 - x0
            t = np.clip(((yy - y0) * dy + (xx - x0) * dx) / max(dy * dy + dx * dx, 1e-9), 0, 1)
            dist = np.hypot(yy - (y0 + t * dy), xx - (x0 + t * dx))
            templates[c] = np.maximum(templates[c], np.clip(2.0 - dist, 0, 1))
    return templates


def synthetic_digits(n_train: int, n_test: int, seed: int = 0) -> tuple[Split, Split]:
    """A deterministic 10-class, 28x28 digit-like data set: class strokes, random shifts, noise."""
    rng = np.random.default_rng(seed)
    templates = _stroke_templates(rng)

    def make(n: int) -> Split:
        labels = rng.integers(0, 10, size=n)
        images = np.empty((n, 28, 28))
        shifts = rng.integers(-2, 3, size=(n, 2))
        for i in range(n):
            images[i] = np.roll(templates[labels[i]], tuple(shifts[i]), axis=(0, 1))
        images = images * rng.uniform(0.6, 1.0, size=(n, 1, 1)) + rng.normal(0, 0.15, size=images.shape)
        return Split(np.clip(images * 255, 0, 255).astype(np.uint8), labels.astype(np.int64))

    return make(n_train), make(n_test)
