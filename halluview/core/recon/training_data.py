"""Offline training data: generated phantoms and augmented real scans from installed packages (no download).

Seeds partition the phantoms: training < :data:`HELD_OUT_SEED` ≤ held-out test < :data:`VALIDATION_SEED` ≤ validation.
Real scans (pydicom's and nibabel's test data) only ever enter training; held-out and validation sets are phantoms.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from ..phantoms import make_phantom

HELD_OUT_SEED = 100_000
VALIDATION_SEED = 200_000

# (package, path inside it, slices to use): real CT and MR images shipped as test data.
REAL_SCANS = (
    ("pydicom", "data/test_files/CT_small.dcm", None),
    ("pydicom", "data/test_files/693_J2KI.dcm", None),
    ("pydicom", "data/test_files/J2K_pixelrep_mismatch.dcm", None),
    ("pydicom", "data/test_files/MR_small.dcm", None),
    ("pydicom", "data/test_files/examples_overlay.dcm", None),
    ("nibabel", "tests/data/example4d.nii.gz", range(6, 18)),
)


def phantom_set(size: int, count: int, seed0: int) -> np.ndarray:
    """Half brain-like, half ellipse phantoms, randomly flipped / rotated by 90°: float32 (count, size, size)."""
    rng = np.random.default_rng(seed0)
    images = []
    for i in range(count):
        image = make_phantom("brain" if i % 2 == 0 else "ellipses", size, seed0 + i)
        image = np.rot90(image, k=int(rng.integers(4)))
        images.append(image[:, ::-1] if rng.uniform() < 0.5 else image)
    return np.ascontiguousarray(np.stack(images), dtype=np.float32)


def _package_file(package: str, relative: str) -> Path:
    import importlib

    return Path(importlib.import_module(package).__file__).parent / relative


@lru_cache(maxsize=1)
def real_slices() -> tuple[tuple[np.ndarray, ...], ...]:
    """The slices of each of :data:`REAL_SCANS` in the simulation's working units (CT: attenuation relative to
    water; anything else: scaled to [0, 1]), at their own resolution."""
    from ..io import read_scan
    from ..problem import working_image

    scans = []
    for package, relative, indices in REAL_SCANS:
        scan = read_scan(_package_file(package, relative))
        indices = indices if indices is not None else range(scan.n_slices)
        scans.append(tuple(working_image(scan, index, None) for index in indices))
    return tuple(scans)


def augment(image: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """A random square crop (50–100 % of the shorter side), resized to ``size`` (anti-aliased), rotated by a
    multiple of 90°, maybe flipped, with a random intensity gamma (0.8–1.25) for [0, 1] images."""
    from skimage.transform import resize

    side = int(min(image.shape) * rng.uniform(0.5, 1.0))
    top = int(rng.integers(image.shape[0] - side + 1))
    left = int(rng.integers(image.shape[1] - side + 1))
    crop = resize(image[top:top + side, left:left + side], (size, size), anti_aliasing=True, preserve_range=True)
    crop = np.rot90(crop, k=int(rng.integers(4)))
    crop = crop[:, ::-1] if rng.uniform() < 0.5 else crop
    if crop.max() <= 1.0:
        crop = np.clip(crop, 0.0, 1.0) ** np.exp(rng.uniform(np.log(0.8), np.log(1.25)))
    return crop.astype(np.float32)


def training_set(size: int, count: int, seed0: int = 0, real_fraction: float = 0.0) -> np.ndarray:
    """``count`` training images: phantoms, with ``real_fraction`` of them replaced by augmented real slices
    (each of :data:`REAL_SCANS` equally often). float32 (count, size, size), deterministic for a seed."""
    n_real = int(round(count * real_fraction))
    images = phantom_set(size, count - n_real, seed0)
    if n_real == 0:
        return images
    rng = np.random.default_rng(seed0 + 1)
    scans = real_slices()
    real = []
    for i in range(n_real):
        slices = scans[i % len(scans)]
        real.append(augment(slices[int(rng.integers(len(slices)))], size, rng))
    return np.concatenate([images, np.stack(real)])


def describe(size: int, count: int, real_fraction: float) -> str:
    """The model card's words for :func:`training_set`."""
    n_real = int(round(count * real_fraction))
    n_phantoms = count - n_real
    text = (f"{n_phantoms} generated phantoms ({(n_phantoms + 1) // 2} brain-like with lesions, {n_phantoms // 2} "
            f"random ellipses), {size}×{size}, random flips / 90° rotations")
    if n_real:
        names = ", ".join(Path(relative).name for _, relative, _ in REAL_SCANS)
        text += (f"; {n_real} augmentations (random crops, flips, rotations, gamma) of the "
                 f"{sum(map(len, real_slices()))} real CT / MR slices in pydicom's and nibabel's test data ({names})")
    return text
