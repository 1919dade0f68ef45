"""Separable window filters behind SSIM: the window taps, the 'valid' filtering and skimage's mirror padding."""
from __future__ import annotations

import contextlib
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

GAUSSIAN_SIGMA = 1.5
"""Standard deviation (pixels) of the gaussian SSIM window (Wang et al. 2004; skimage's default)."""

Window = Literal["uniform", "gaussian"]


def window_weights(window: Window, win_size: int) -> list[float]:
    """1-D taps of the separable SSIM window, summing to 1: uniform, or gaussian with sigma 1.5 px."""
    if window == "uniform":
        return [1.0 / win_size] * win_size
    if window == "gaussian":
        offsets = np.arange(win_size, dtype=np.float64) - (win_size - 1) / 2
        taps = np.exp(-0.5 * (offsets / GAUSSIAN_SIGMA) ** 2)
        return (taps / taps.sum()).tolist()
    raise ValueError(f"window must be 'uniform' or 'gaussian'; got {window!r}")


def filter_valid(images: Tensor, taps: list[float]) -> Tensor:
    """Separable correlation of (..., H, W) ``images`` with ``taps`` along both axes, 'valid' part only.

    Two 1-D convolutions; on CUDA with TF32 switched off so float32 stays exact. Differentiable.
    Output shape (..., H - k + 1, W - k + 1), k = len(taps).
    """
    k, shape = len(taps), images.shape
    flat = images.reshape(-1, 1, shape[-2], shape[-1])
    if len(set(taps)) == 1:  # uniform window: box sums from cumulative sums, O(1) per pixel
        out = _box_mean_valid(_box_mean_valid(flat, k, -2), k, -1)
        return out.reshape(*shape[:-2], out.shape[-2], out.shape[-1])
    kernel = torch.tensor(taps, dtype=images.dtype, device=images.device)
    with _exact_cuda_convolutions(images):
        out = F.conv2d(F.conv2d(flat, kernel.view(1, 1, k, 1)), kernel.view(1, 1, 1, k))
    return out.reshape(*shape[:-2], out.shape[-2], out.shape[-1])


def _box_mean_valid(images: Tensor, k: int, dim: int) -> Tensor:
    """Mean over every run of ``k`` consecutive entries along ``dim`` ('valid' part).

    The running sums are kept in float64: in float32 their rounding error grows with the image size."""
    sums = F.pad(torch.cumsum(images, dim=dim, dtype=torch.float64), (1, 0) if dim == -1 else (0, 0, 1, 0))
    n = sums.shape[dim] - k
    return ((sums.narrow(dim, k, n) - sums.narrow(dim, 0, n)) / k).to(images.dtype)


def _exact_cuda_convolutions(images: Tensor):
    """cuDNN's TF32 convolutions round float32 inputs to 10-bit mantissas: turn them off for metrics."""
    if not images.is_cuda:
        return contextlib.nullcontext()
    cudnn = torch.backends.cudnn
    return cudnn.flags(enabled=cudnn.enabled, benchmark=cudnn.benchmark, deterministic=cudnn.deterministic,
                       allow_tf32=False)


def pad_symmetric(images: Tensor, radius: int) -> Tensor:
    """Pad the last two axes of (..., H, W) by ``radius`` mirroring about the edge (d c b a | a b c d).

    This is scipy.ndimage's 'reflect' mode, which skimage's SSIM filters use; torch has no such padding mode.
    """
    for dim in (-2, -1):
        size = images.shape[dim]
        index = torch.cat([torch.arange(radius - 1, -1, -1), torch.arange(size),
                           torch.arange(size - 1, size - 1 - radius, -1)]).to(images.device)
        images = images.index_select(dim % images.ndim, index)
    return images
