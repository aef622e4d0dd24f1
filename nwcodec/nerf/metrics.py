"""Image quality metrics in numpy: PSNR and SSIM (11x11 Gaussian window, sigma 1.5)."""
from __future__ import annotations

import numpy as np

from nwcodec.errors import InputError


def _check_pair(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise InputError(f"image shapes differ: {a.shape} vs {b.shape}")
    return a, b


def psnr(a: np.ndarray, b: np.ndarray, max_val: float = 1.0) -> float:
    """Peak signal-to-noise ratio in dB; ``inf`` for identical images."""
    a, b = _check_pair(a, b)
    mse = float(np.mean((a - b) ** 2))
    return float("inf") if mse == 0.0 else float(10.0 * np.log10(max_val**2 / mse))


def mse_to_psnr(mse: float, max_val: float = 1.0) -> float:
    """PSNR in dB from a mean squared error."""
    return float("inf") if mse <= 0.0 else float(10.0 * np.log10(max_val**2 / mse))


def gaussian_window(size: int = 11, sigma: float = 1.5) -> np.ndarray:
    """Normalised 1-D Gaussian taps."""
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = np.exp(-(x**2) / (2.0 * sigma**2))
    return g / g.sum()


def _filter_valid(img: np.ndarray, taps: np.ndarray) -> np.ndarray:
    """Separable 'valid' filtering of ``img`` ``[H, W, C]`` along both image axes."""
    k = len(taps)
    h = sum(taps[i] * img[i : img.shape[0] - k + 1 + i] for i in range(k))
    return sum(taps[i] * h[:, i : h.shape[1] - k + 1 + i] for i in range(k))


def ssim(a: np.ndarray, b: np.ndarray, max_val: float = 1.0, size: int = 11, sigma: float = 1.5) -> float:
    """Mean structural similarity (Wang et al. 2004) of ``[H, W]`` or ``[H, W, C]`` images."""
    a, b = _check_pair(a, b)
    if a.ndim == 2:
        a, b = a[..., None], b[..., None]
    if a.ndim != 3 or min(a.shape[:2]) < size:
        raise InputError(f"SSIM needs [H, W(, C)] images of at least {size}x{size}, got {a.shape}")
    taps = gaussian_window(size, sigma)
    c1, c2 = (0.01 * max_val) ** 2, (0.03 * max_val) ** 2
    mu_a, mu_b = _filter_valid(a, taps), _filter_valid(b, taps)
    var_a = _filter_valid(a * a, taps) - mu_a**2
    var_b = _filter_valid(b * b, taps) - mu_b**2
    cov = _filter_valid(a * b, taps) - mu_a * mu_b
    num = (2 * mu_a * mu_b + c1) * (2 * cov + c2)
    den = (mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2)
    return float(np.mean(num / den))
