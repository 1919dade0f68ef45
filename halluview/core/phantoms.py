"""Generated phantoms: the offline training data and the built-in examples.

- ``random_ellipses``: superposed random ellipses, as in the DIVal / robust-nets benchmarks.
- ``brain_phantom``: a brain-like slice (skull ring, grey/white matter texture, ventricles) with small lesions.
All return float32 (H, W) in [0, 1] and are fully determined by their seed.
"""
from __future__ import annotations

import numpy as np


def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    coords = np.linspace(-1, 1, size, dtype=np.float32)
    return np.meshgrid(coords, coords, indexing="ij")


def _ellipse(yy: np.ndarray, xx: np.ndarray, cy: float, cx: float, ry: float, rx: float,
             angle: float) -> np.ndarray:
    cos, sin = np.cos(angle), np.sin(angle)
    dy, dx = yy - cy, xx - cx
    u, v = dx * cos + dy * sin, -dx * sin + dy * cos
    return (u / rx) ** 2 + (v / ry) ** 2 <= 1.0


def random_ellipses(size: int = 128, seed: int = 0, n_ellipses: int = 20) -> np.ndarray:
    """Random ellipses inside the inscribed circle, additive intensities, clipped to [0, 1]."""
    rng = np.random.default_rng(seed)
    yy, xx = _grid(size)
    image = np.zeros((size, size), np.float32)
    for _ in range(n_ellipses):
        radius, theta = 0.6 * np.sqrt(rng.uniform()), rng.uniform(0, 2 * np.pi)
        cy, cx = radius * np.sin(theta), radius * np.cos(theta)
        ry, rx = rng.uniform(0.03, 0.35, size=2)
        image += rng.uniform(-0.3, 0.6) * _ellipse(yy, xx, cy, cx, ry, rx, rng.uniform(0, np.pi))
    image = np.clip(image, 0, None) * ((yy ** 2 + xx ** 2) <= 0.9 ** 2)
    return np.clip(image / max(float(image.max()), 1e-6), 0, 1).astype(np.float32)


def _texture(rng: np.random.Generator, size: int, sigma: float) -> np.ndarray:
    from scipy.ndimage import gaussian_filter  # imported when used: keeps the app's start fast

    noise = gaussian_filter(rng.standard_normal((size, size)), sigma)
    return (noise / (noise.std() + 1e-8)).astype(np.float32)


def brain_phantom(size: int = 128, seed: int = 0, n_lesions: int = 2) -> np.ndarray:
    """A brain-like axial slice: skull, cortex, textured white matter, ventricles and small bright lesions."""
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(seed)
    yy, xx = _grid(size)
    ry, rx = rng.uniform(0.78, 0.88), rng.uniform(0.66, 0.76)
    angle = rng.uniform(-0.15, 0.15)
    head = _ellipse(yy, xx, 0, 0, ry, rx, angle)
    brain = _ellipse(yy, xx, 0, 0, ry - 0.07, rx - 0.07, angle)
    white = _ellipse(yy, xx, 0.02, 0, ry - 0.2, rx - 0.2, angle)
    image = 0.9 * (head & ~brain)
    grey = 0.55 + 0.04 * _texture(rng, size, size / 40)
    wm = 0.72 + 0.05 * _texture(rng, size, size / 25)
    image = np.where(brain, np.where(white, wm, grey), image)
    for side in (-1, 1):
        ventricle = _ellipse(yy, xx, rng.uniform(-0.12, 0.02), side * rng.uniform(0.08, 0.14),
                             rng.uniform(0.15, 0.25), rng.uniform(0.04, 0.07), side * rng.uniform(0.1, 0.4))
        image = np.where(ventricle, 0.2, image)
    for _ in range(n_lesions):
        radius, theta = 0.45 * np.sqrt(rng.uniform()), rng.uniform(0, 2 * np.pi)
        lesion = _ellipse(yy, xx, radius * np.sin(theta), radius * np.cos(theta),
                          *rng.uniform(0.03, 0.07, size=2), rng.uniform(0, np.pi))
        image = np.where(lesion & brain, rng.uniform(0.85, 1.0), image)
    image = gaussian_filter(image, 0.6)
    return np.clip(image, 0, 1).astype(np.float32)


PHANTOMS = {"ellipses": random_ellipses, "brain": brain_phantom}


def make_phantom(kind: str, size: int = 128, seed: int = 0) -> np.ndarray:
    if kind not in PHANTOMS:
        raise ValueError(f"unknown phantom {kind!r}; choose one of {sorted(PHANTOMS)}")
    return PHANTOMS[kind](size=size, seed=seed)
