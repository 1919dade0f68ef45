"""Cartesian MRI with fastMRI's conventions: centred orthonormal FFT, column masks, single- and multi-coil.

k-space is a complex tensor (B, C, H, W) (C = 1 for single-coil); images are (B, H, W), complex in general.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from .base import Operator
from .masks import MASK_CHOICES, MASKS, SampledMask, make_mask, num_low_frequencies, sample_mask

__all__ = ["MASK_CHOICES", "MASKS", "MRIOperator", "SampledMask", "build_mri_operator", "center_crop", "fft2c",
           "ifft2c", "make_mask", "num_low_frequencies", "rss", "sample_mask", "simulate_coil_maps"]

_IMAGE_DIMS = (-2, -1)


def fft2c(x: Tensor) -> Tensor:
    """Centred orthonormal 2-D FFT over the last two axes (fastMRI: ifftshift → fftn(norm='ortho') → fftshift)."""
    x = torch.fft.ifftshift(x, dim=_IMAGE_DIMS)
    x = torch.fft.fftn(x, dim=_IMAGE_DIMS, norm="ortho")
    return torch.fft.fftshift(x, dim=_IMAGE_DIMS)


def ifft2c(k: Tensor) -> Tensor:
    """Inverse of :func:`fft2c`."""
    k = torch.fft.ifftshift(k, dim=_IMAGE_DIMS)
    k = torch.fft.ifftn(k, dim=_IMAGE_DIMS, norm="ortho")
    return torch.fft.fftshift(k, dim=_IMAGE_DIMS)


def rss(coil_images: Tensor, dim: int = 1) -> Tensor:
    """Root-sum-of-squares of the magnitudes over the coil axis (its gradient is 0, not NaN, where all are 0)."""
    return torch.linalg.vector_norm(coil_images, dim=dim)


def center_crop(x: Tensor, shape: tuple[int, int]) -> Tensor:
    """Crop the last two axes to ``shape`` around the centre, as fastMRI's ``center_crop`` does."""
    h, w = x.shape[-2:]
    ch, cw = min(shape[0], h), min(shape[1], w)
    top, left = (h - ch) // 2, (w - cw) // 2
    return x[..., top:top + ch, left:left + cw]


def simulate_coil_maps(n_coils: int, shape: tuple[int, int], seed: int = 0) -> np.ndarray:
    """Smooth complex coil sensitivities around the field of view, normalised so that Σ_c |S_c|² = 1.

    Each coil is a broad Gaussian magnitude centred on a ring just outside the image, with a slowly varying
    phase; returns complex64 (n_coils, H, W).
    """
    rng = np.random.RandomState(seed)
    h, w = shape
    yy, xx = np.meshgrid(np.linspace(-1, 1, h), np.linspace(-1, 1, w), indexing="ij")
    maps = []
    for c in range(n_coils):
        angle = 2 * np.pi * c / n_coils + rng.uniform(-0.2, 0.2)
        cy, cx = 1.2 * np.sin(angle), 1.2 * np.cos(angle)
        magnitude = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * 0.9 ** 2))
        phase = rng.uniform(-np.pi, np.pi) + rng.uniform(-1, 1) * xx + rng.uniform(-1, 1) * yy
        maps.append(magnitude * np.exp(1j * phase))
    maps = np.stack(maps)
    maps /= np.sqrt(np.sum(np.abs(maps) ** 2, axis=0, keepdims=True))
    return maps.astype(np.complex64)


class MRIOperator(Operator):
    """A x = M · F(S · x): coil sensitivities S, centred orthonormal FFT F, column mask M.

    Parameters
    ----------
    mask : array (W,) of bool
        Sampled phase-encoding columns.
    coil_maps : array (C, H, W) complex, optional
        Sensitivities with Σ|S|² = 1; None means single-coil (S = 1).
    settings : dict, optional
        What :meth:`config` reports.
    num_low_frequencies : int, optional
        Columns in the fully sampled centre, as fastMRI's mask function returned it with the mask (its VarNet
        receives it); None when unknown (a file's mask, ``full``), then the VarNet finds the centre in the mask.
    """

    domain = "kspace"
    complex_image = True

    def __init__(self, mask: np.ndarray, coil_maps: np.ndarray | None = None, settings: dict | None = None,
                 num_low_frequencies: int | None = None):
        super().__init__()
        self.num_low_frequencies = num_low_frequencies
        self.register_buffer("mask", torch.as_tensor(np.asarray(mask, dtype=bool)).reshape(1, 1, 1, -1))
        maps = None if coil_maps is None else torch.as_tensor(np.asarray(coil_maps, dtype=np.complex64))
        self.register_buffer("coil_maps", maps)
        self.settings = dict(settings or {})

    @property
    def n_coils(self) -> int:
        return 1 if self.coil_maps is None else int(self.coil_maps.shape[0])

    def _coil_images(self, x: Tensor) -> Tensor:
        x = x.to(torch.complex64) if not x.is_complex() else x
        x = x.unsqueeze(1)
        return x if self.coil_maps is None else x * self.coil_maps.to(x.dtype)

    def forward(self, x: Tensor) -> Tensor:
        return fft2c(self._coil_images(x)) * self.mask

    def adjoint(self, y: Tensor) -> Tensor:
        coil_images = ifft2c(y * self.mask)
        if self.coil_maps is None:
            return coil_images[:, 0]
        return torch.sum(torch.conj(self.coil_maps.to(coil_images.dtype)) * coil_images, dim=1)

    def baseline(self, y: Tensor) -> Tensor:
        """Zero-filled reconstruction: RSS over coils of the inverse FFT of the masked k-space."""
        return rss(ifft2c(y * self.mask), dim=1)

    def measurement_mask(self, y: Tensor) -> Tensor:
        return self.mask.expand_as(y)

    def config(self) -> dict:
        return {"kind": "mri", **self.settings}


def build_mri_operator(shape: tuple[int, int], acceleration: float = 4.0, center_fraction: float = 0.08,
                       mask_type: str = "random", n_coils: int = 1, seed: int = 0,
                       mask: np.ndarray | None = None) -> MRIOperator:
    """An MRI operator for an image of ``shape`` (H, W) from plain settings (what the CLI and the app expose).

    ``mask_type`` is one of :data:`~halluview.core.physics.masks.MASK_CHOICES` (fastMRI's names), drawn with
    ``seed`` exactly as fastMRI draws it; ``mask`` (bool (W,)) overrides it.
    """
    settings = {"acceleration": acceleration, "center_fraction": center_fraction, "mask_type": mask_type,
                "n_coils": n_coils, "mask_seed": seed}
    num_low = None
    if mask is None:
        mask, num_low = sample_mask(mask_type, shape[1], center_fraction, acceleration, seed)
    else:
        settings["mask_type"] = "file"
    maps = simulate_coil_maps(n_coils, shape, seed) if n_coils > 1 else None
    return MRIOperator(mask, maps, settings, num_low)
