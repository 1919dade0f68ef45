"""Offline training data: generated phantoms and real anatomy from installed packages (no download).

Seeds partition the phantoms: training < :data:`HELD_OUT_SEED` ≤ held-out test < :data:`VALIDATION_SEED` ≤ validation.
Real anatomy is split by volume (:mod:`.real_anatomy`): training volumes only ever enter training.

Networks train on patches of real scale (fully convolutional, they run at any size): an MRI patch is a crop of a
real slice at its own pixel size (rescaled by 0.5–1.6×, as scanners' pixel sizes vary), simulated as if it
were the whole field of view; a CT patch is cut from the FBP of a whole real slice, so that streaks and noise have
the geometry they have at native size (see :func:`ct_pool`).
"""
from __future__ import annotations

import numpy as np

from ..phantoms import make_phantom
from .real_anatomy import TRAINING, modality_family, volume_slices

HELD_OUT_SEED = 100_000
VALIDATION_SEED = 200_000
SCALE_RANGE = (0.5, 1.6)  # the real slices' pixel size may change by this factor in augmentation


def phantom_set(size: int, count: int, seed0: int) -> np.ndarray:
    """Half brain-like, half ellipse phantoms, randomly flipped / rotated by 90°: float32 (count, size, size)."""
    rng = np.random.default_rng(seed0)
    images = []
    for i in range(count):
        image = make_phantom("brain" if i % 2 == 0 else "ellipses", size, seed0 + i)
        image = np.rot90(image, k=int(rng.integers(4)))
        images.append(image[:, ::-1] if rng.uniform() < 0.5 else image)
    return np.ascontiguousarray(np.stack(images), dtype=np.float32)


def real_training_slices(modality: str) -> list[np.ndarray]:
    """Every training slice of real anatomy for ``modality``'s family, in working units, at its own size."""
    return [image for volume in TRAINING[modality_family(modality)] for image in volume_slices(volume)]


def _orient(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    image = np.rot90(image, k=int(rng.integers(4)))
    return image[:, ::-1] if rng.uniform() < 0.5 else image


def _new_contrast(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Another MR contrast of a [0, 1] image: a random smooth intensity curve (tissues keep their boundaries, their
    order may change) times a smooth coil-like bias field."""
    knots = np.sort(rng.uniform(0, 1, 4))
    curve = np.interp(image, np.concatenate([[0], knots, [1]]),
                      np.concatenate([[0], rng.uniform(0.05, 1, 4), [rng.uniform(0.5, 1)]]))
    rows, cols = np.meshgrid(np.linspace(-1, 1, image.shape[0]), np.linspace(-1, 1, image.shape[1]), indexing="ij")
    bias = 1 + 0.3 * (rng.uniform(-1, 1) * rows + rng.uniform(-1, 1) * cols) * rng.uniform()
    out = curve * bias
    return out / max(float(out.max()), 1e-6)


def real_patch(image: np.ndarray, size: int, rng: np.random.Generator, mr: bool) -> np.ndarray:
    """A ``size``² patch of a real slice: pixel size changed by a factor in :data:`SCALE_RANGE` (anti-aliased),
    a random crop (zero-padded where the slice is smaller), a multiple of 90°, maybe flipped; MR images also get a
    random contrast half of the time."""
    from skimage.transform import rescale

    scale = float(rng.uniform(*SCALE_RANGE))
    image = rescale(image, scale, anti_aliasing=scale < 1, preserve_range=True, order=1)
    padded = np.zeros((max(size, image.shape[0]), max(size, image.shape[1])), np.float64)
    top0, left0 = (padded.shape[0] - image.shape[0]) // 2, (padded.shape[1] - image.shape[1]) // 2
    padded[top0:top0 + image.shape[0], left0:left0 + image.shape[1]] = image
    top = int(rng.integers(padded.shape[0] - size + 1))
    left = int(rng.integers(padded.shape[1] - size + 1))
    patch = _orient(padded[top:top + size, left:left + size], rng)
    if mr:
        patch = np.clip(patch, 0, 1)
        if rng.uniform() < 0.5:
            patch = _new_contrast(patch, rng)
    return np.ascontiguousarray(patch, dtype=np.float32)


def _informative(patch: np.ndarray) -> bool:
    """A patch worth training on: at least a tenth of it is not background."""
    return float((patch > 0.05 * max(float(patch.max()), 1e-6)).mean()) > 0.1


def training_set(size: int, count: int, seed0: int = 0, real_fraction: float = 0.0,
                 modality: str = "mri") -> np.ndarray:
    """``count`` training images of ``size``²: phantoms, with ``real_fraction`` of them replaced by patches of real
    anatomy (:func:`real_patch`). float32 (count, size, size), deterministic for a seed."""
    n_real = int(round(count * real_fraction))
    images = phantom_set(size, count - n_real, seed0)
    if n_real == 0:
        return images
    rng = np.random.default_rng(seed0 + 1)
    slices = real_training_slices(modality)
    real = []
    while len(real) < n_real:
        patch = real_patch(slices[int(rng.integers(len(slices)))], size, rng, mr=modality == "mri")
        if _informative(patch):
            real.append(patch)
    return np.concatenate([images, np.stack(real)])


def ct_targets(count: int, seed0: int = 0, real_fraction: float = 0.5) -> list[np.ndarray]:
    """Whole CT training images (targets) of several sizes for :func:`ct_pool`: phantoms at 128² and 256², and
    real training slices at their own size, each in a random orientation and pixel size."""
    from skimage.transform import rescale

    rng = np.random.default_rng(seed0 + 2)
    n_real = int(round(count * real_fraction))
    images = [p for i, p in enumerate(phantom_set(128, (count - n_real + 1) // 2, seed0))]
    images += list(phantom_set(256, (count - n_real) // 2, seed0 + 50_000))
    slices = real_training_slices("ct")
    for i in range(n_real):
        image = slices[i % len(slices)]
        scale = float(rng.uniform(0.8, 1.0)) if image.shape[0] > 256 else 1.0
        image = rescale(image, scale, anti_aliasing=True, preserve_range=True) if scale != 1.0 else image
        side = min(image.shape)  # CT geometry needs a square: the centred square of the slice
        top, left = (image.shape[0] - side) // 2, (image.shape[1] - side) // 2
        images.append(np.ascontiguousarray(_orient(image[top:top + side, left:left + side], rng), np.float32))
    return images


def describe(size: int, count: int, real_fraction: float, modality: str = "mri") -> str:
    """The model card's words for the training images."""
    n_real = int(round(count * real_fraction))
    n_phantoms = count - n_real
    text = (f"{n_phantoms} generated phantoms ({(n_phantoms + 1) // 2} brain-like with lesions, {n_phantoms // 2} "
            f"random ellipses), random flips / 90° rotations")
    if n_real:
        volumes = TRAINING[modality_family(modality)]
        names = "; ".join(f"{v.name} ({v.title})" for v in volumes)
        if modality == "mri":
            text += (f"; {n_real} {size}×{size} patches of real anatomy at its own pixel size (0.5–1.6×), half of them "
                     f"in a random MR contrast with a bias field, from {names}")
        else:
            text += (f"; {n_real} whole real slices at their own size (random orientation, pixel size −20 %) "
                     f"from {names}")
    return text
