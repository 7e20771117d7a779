"""Image quality measures for the tests: SSIM and PSNR over numpy, on luma (BT.601), the way
the eye weighs a difference. Small on purpose: one 8x8-window SSIM (Wang et al. 2004,
uniform window, the usual constants), enough to tell a visible change from rounding."""

from __future__ import annotations

import numpy as np
from PIL import Image

_C1 = (0.01 * 255) ** 2
_C2 = (0.03 * 255) ** 2


def luma(image: Image.Image) -> np.ndarray:
    """The picture's luma as float64 (alpha, if any, composited on white as JPEG is)."""
    if image.mode in ("RGBA", "LA"):
        white = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, image.convert("RGBA"))
    return np.asarray(image.convert("RGB").convert("L"), dtype=np.float64)


def _window_means(values: np.ndarray, size: int) -> np.ndarray:
    """The mean of every ``size``×``size`` window (valid positions only), by integral image."""
    integral = np.pad(values, ((1, 0), (1, 0))).cumsum(0).cumsum(1)
    total = (
        integral[size:, size:] - integral[:-size, size:] - integral[size:, :-size]
        + integral[:-size, :-size]
    )  # fmt: skip
    return total / (size * size)


def ssim(a: Image.Image, b: Image.Image, window: int = 8) -> float:
    """The mean structural similarity of two pictures of one size (1.0: the same)."""
    if a.size != b.size:
        raise ValueError(f"sizes differ: {a.size} and {b.size}")
    x, y = luma(a), luma(b)
    mx, my = _window_means(x, window), _window_means(y, window)
    vx = _window_means(x * x, window) - mx * mx
    vy = _window_means(y * y, window) - my * my
    cov = _window_means(x * y, window) - mx * my
    index = ((2 * mx * my + _C1) * (2 * cov + _C2)) / ((mx * mx + my * my + _C1) * (vx + vy + _C2))
    return float(index.mean())


def psnr(a: Image.Image, b: Image.Image) -> float:
    """Peak signal-to-noise ratio in dB over the RGB channels (inf: identical)."""
    if a.size != b.size:
        raise ValueError(f"sizes differ: {a.size} and {b.size}")
    x = np.asarray(a.convert("RGB"), dtype=np.float64)
    y = np.asarray(b.convert("RGB"), dtype=np.float64)
    mse = float(((x - y) ** 2).mean())
    return float("inf") if mse == 0 else 10 * np.log10(255 * 255 / mse)
