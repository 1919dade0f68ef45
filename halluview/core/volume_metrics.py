"""fastMRI's volume metrics: the numbers ``fastmri.evaluate`` reports for one volume (a stack of slices).

fastMRI evaluates a reconstructed volume against its target volume, not slice by slice:

* SSIM: skimage's ``structural_similarity`` of each slice with ``data_range`` = one value for the whole volume
  (the target volume's maximum unless given), averaged over the slices;
* PSNR: ``10 log10(maxval² / MSE)`` with the MSE over all voxels of the volume;
* NMSE: ``||x − ref||² / ||ref||²`` over the volume.

The per-slice metrics of :mod:`halluview.core.metrics` use each slice's own maximum instead, and a mean of per-slice
PSNRs is not the volume PSNR, so the two modes differ. fastMRI's ``evaluate.py`` script also centre-crops both
volumes to (W, W) first (W = the target's width); pass stacks cropped that way to reproduce its tables exactly.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .metrics import ssim

__all__ = ["VolumeMetrics", "volume_metrics"]


@dataclass(frozen=True)
class VolumeMetrics:
    """fastMRI's numbers for one volume.

    Attributes
    ----------
    ssim : float
        Mean over the slices of each slice's SSIM, all computed with ``data_range = maxval`` (dimensionless).
    psnr : float
        dB, from the MSE over the whole volume (+inf when x equals the reference).
    nmse : float
        ||x − ref||² / ||ref||² over the whole volume (dimensionless).
    mse : float
        Mean squared error over the volume, in squared image units.
    maxval : float
        The data range used (image units): the reference volume's maximum unless given.
    ssim_per_slice : tuple of float
        The slice SSIMs the mean is taken over, in slice order.
    """

    ssim: float
    psnr: float
    nmse: float
    mse: float
    maxval: float
    ssim_per_slice: tuple[float, ...]

    def as_dict(self) -> dict[str, float]:
        """``{"ssim", "psnr", "nmse", "mse", "maxval"}`` as plain floats (for reports and JSON)."""
        return {"ssim": self.ssim, "psnr": self.psnr, "nmse": self.nmse, "mse": self.mse, "maxval": self.maxval}


def _shape(stack: Any, name: str) -> tuple[tuple[int, int, int], bool]:
    """(S, H, W) of a stack, and whether it was a single (H, W) slice."""
    raw = tuple(int(n) for n in (stack.shape if hasattr(stack, "shape") else np.shape(stack)))
    if len(raw) not in (2, 3):
        raise ValueError(f"{name} must be a stack of slices (S, H, W) or one slice (H, W); got shape {raw}")
    shape = (1, *raw) if len(raw) == 2 else raw
    if min(shape) < 1:
        raise ValueError(f"{name} of shape {raw} is empty")
    return shape, len(raw) == 2


def _slice(stack: Any, index: int, two_d: bool, name: str) -> torch.Tensor:
    """Slice ``index`` as a float64 tensor (numpy, torch or a lazy slice-indexable volume)."""
    values = stack if two_d else stack[index]
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu()
        if values.is_complex():
            raise TypeError(f"{name} is complex; volume metrics need real (magnitude) images")
        values = values.to(torch.float64)
    else:
        array = np.asarray(values)
        if array.dtype.kind == "c":
            raise TypeError(f"{name} is complex; volume metrics need real (magnitude) images")
        values = torch.from_numpy(array.astype(np.float64))
    if not bool(torch.isfinite(values).all()):
        raise ValueError(f"{name} slice {index} holds NaN or infinite values")
    return values


def _reference_max(ref: Any, n_slices: int, two_d: bool) -> float:
    return max(float(_slice(ref, index, two_d, "ref").max()) for index in range(n_slices))


def volume_metrics(x: Any, ref: Any, maxval: float | None = None) -> VolumeMetrics:
    """SSIM, PSNR, NMSE and MSE of a volume as ``fastmri.evaluate`` computes them.

    Parameters
    ----------
    x : array-like (S, H, W) or (H, W)
        The volume under test (a reconstruction, a perturbed reconstruction), real: a numpy array, a torch tensor
        or any slice-indexable volume (``x[i]`` gives slice i, e.g. a lazily read scan volume), read one slice at
        a time.
    ref : array-like, same shape as ``x``
        The target volume (e.g. fastMRI's ``reconstruction_rss``), in the same units.
    maxval : float, optional
        Data range for SSIM and PSNR, in image units; None: the maximum of ``ref`` over the whole volume, as
        fastMRI's ``ssim(gt, pred)`` and ``psnr(gt, pred)`` (its challenge evaluation passes ``attrs["max"]``).

    Returns
    -------
    VolumeMetrics
        ``ssim`` (per-slice SSIMs with the one ``maxval``, averaged), ``psnr`` and ``nmse`` over the volume, ``mse``,
        the ``maxval`` used and the per-slice SSIMs. SSIM uses skimage's defaults (7 × 7 uniform window, K1 = 0.01,
        K2 = 0.03, sample covariance), as fastMRI does.

    Raises
    ------
    ValueError
        When the shapes differ, a slice is not finite or ``maxval`` is not positive (e.g. an all-zero reference).
    TypeError
        For complex input.
    """
    (shape, x_two_d), (ref_shape, two_d) = _shape(x, "x"), _shape(ref, "ref")
    if shape != ref_shape:
        raise ValueError(f"x {shape} and ref {ref_shape} must have the same shape")
    n_slices = shape[0]
    maxval = _reference_max(ref, n_slices, two_d) if maxval is None else float(maxval)
    if not (math.isfinite(maxval) and maxval > 0):
        raise ValueError(f"maxval (the data range) must be positive and finite, not {maxval:g}; an all-zero "
                         "reference has no default data range")
    slice_ssims, error_energy, ref_energy = [], 0.0, 0.0
    for index in range(n_slices):
        x_slice, ref_slice = _slice(x, index, x_two_d, "x"), _slice(ref, index, two_d, "ref")
        slice_ssims.append(float(ssim(x_slice, ref_slice, data_range=maxval)))
        error_energy += float(((x_slice - ref_slice) ** 2).sum())
        ref_energy += float((ref_slice ** 2).sum())
    mse = error_energy / (n_slices * shape[1] * shape[2])
    psnr = math.inf if mse == 0 else 10 * math.log10(maxval ** 2 / mse)
    if ref_energy > 0:
        nmse = error_energy / ref_energy
    else:
        nmse = 0.0 if error_energy == 0 else math.inf
    return VolumeMetrics(ssim=float(np.mean(slice_ssims)), psnr=psnr, nmse=nmse, mse=mse, maxval=maxval,
                         ssim_per_slice=tuple(slice_ssims))
