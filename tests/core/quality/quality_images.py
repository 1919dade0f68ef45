"""Constructed images for the clinical-metric tests."""
import numpy as np


def phantom(size: int = 64, disc: bool = True) -> np.ndarray:
    """A smooth object with some texture and, optionally, one small bright disc (radius 2 px)."""
    yy, xx = np.mgrid[0:size, 0:size] / size
    body = ((xx - 0.5) ** 2 + (yy - 0.5) ** 2 < 0.16).astype(float)
    image = body * (0.5 + 0.15 * np.sin(9 * xx) * np.cos(7 * yy))
    if disc:
        image = image + 0.3 * (((xx - 0.62) * size) ** 2 + ((yy - 0.4) * size) ** 2 <= 4)
    return image


