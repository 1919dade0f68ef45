"""Image-quality metrics in torch: SSIM, PSNR, MSE and NMSE, globally or inside / outside a region mask.

Every metric takes a reconstruction ``x`` and a reference ``ref``, each a real image of shape (H, W) or a batch
(B, H, W), on any device, in float32 or float64 (integer inputs are promoted to torch's default float dtype).
Results are per image: shape (B,) for a batch, a 0-dim tensor for a single (H, W) image. All of them are
differentiable, so attack objectives can use them directly.

Conventions follow fastMRI's evaluation code, which in turn calls scikit-image:

* ``data_range=None`` means the maximum of the reference, per image (fastMRI passes ``gt.max()``).
* SSIM defaults to skimage's ``structural_similarity(ref, x, data_range=ref.max(), win_size=7)``: a uniform
  7 x 7 window and sample covariance (normalised by N / (N - 1), N = win_size**2). The mean SSIM skips a strip
  of (win_size - 1) // 2 pixels along every border, exactly as skimage crops its map.
* NMSE is ||x - ref||^2 / ||ref||^2.

:func:`compare` bundles all four metrics, globally and inside / outside a mask, into the plain ``dict`` that the
GUI table and the CLI report display.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from .ssim_filters import GAUSSIAN_SIGMA, Window, filter_valid, pad_symmetric, window_weights

__all__ = ["GAUSSIAN_SIGMA", "METRIC_NAMES", "REGION_SUFFIXES", "DEFAULT_WIN_SIZE", "Window", "metric_keys", "ssim",
           "ssim_map", "psnr", "mse", "nmse", "compare"]

METRIC_NAMES: tuple[str, ...] = ("ssim", "psnr", "mse", "nmse")
"""Metric names, in display order, as used in the keys of :func:`compare`."""

REGION_SUFFIXES: tuple[str, ...] = ("", "_in", "_out")
"""Key suffixes of :func:`compare`: whole image, inside the mask, outside the mask."""

DEFAULT_WIN_SIZE: dict[str, int] = {"uniform": 7, "gaussian": 11}
"""Window side (pixels) used when ``win_size`` is None: skimage's 7 (uniform) and Wang et al.'s 11 (gaussian)."""


def metric_keys(with_mask: bool) -> list[str]:
    """The keys :func:`compare` returns, in display order.

    Parameters
    ----------
    with_mask : bool
        Whether a mask is given: adds the "<metric>_in" and "<metric>_out" keys after the global ones.

    Returns
    -------
    list[str]
        E.g. ["ssim", "psnr", "mse", "nmse"] without a mask; 12 keys with one.
    """
    suffixes = REGION_SUFFIXES if with_mask else REGION_SUFFIXES[:1]
    return [name + suffix for suffix in suffixes for name in METRIC_NAMES]


def _prepare_images(x: Tensor, ref: Tensor) -> tuple[Tensor, Tensor, bool]:
    """Check and broadcast the inputs to real floating (B, H, W) tensors of one dtype; report whether 2-D."""
    if not isinstance(x, Tensor) or not isinstance(ref, Tensor):
        raise TypeError("x and ref must be torch tensors (use compare() for numpy arrays)")
    if x.is_complex() or ref.is_complex():
        raise TypeError("metrics need real images; take the magnitude (x.abs()) of complex images first")
    if x.ndim not in (2, 3) or ref.ndim not in (2, 3):
        raise ValueError(f"images must be (H, W) or (B, H, W); got x {tuple(x.shape)} and ref {tuple(ref.shape)}")
    dtype = torch.promote_types(x.dtype, ref.dtype)
    if not dtype.is_floating_point:
        dtype = torch.get_default_dtype()
    single_image = x.ndim == 2 and ref.ndim == 2
    x, ref = torch.broadcast_tensors(x.to(dtype), ref.to(dtype))
    if single_image:
        x, ref = x.unsqueeze(0), ref.unsqueeze(0)
    return x, ref, single_image


def _prepare_mask(mask: Tensor | None, shape: torch.Size, device: torch.device) -> Tensor | None:
    """Broadcast a boolean (H, W) or (B, H, W) mask to ``shape`` (B, H, W); refuse masks that select nothing."""
    if mask is None:
        return None
    if mask.dtype != torch.bool:
        raise TypeError(f"mask must be a boolean tensor; got {mask.dtype}")
    if mask.shape[-2:] != shape[-2:] or mask.ndim not in (2, 3):
        raise ValueError(f"mask of shape {tuple(mask.shape)} does not fit images of shape {tuple(shape)}")
    mask = torch.broadcast_to(mask.to(device), shape)
    _require_pixels(mask, "the mask is empty: it selects no pixel")
    return mask


def _require_pixels(mask: Tensor, message: str) -> None:
    """Raise ValueError(message) when some image of the (B, H, W) mask has no True pixel."""
    if not bool(mask.flatten(1).any(dim=1).all()):
        raise ValueError(message)


def _resolve_data_range(data_range: float | Tensor | None, ref: Tensor) -> Tensor:
    """Data range per image, shape (B,): the reference maximum when None; must be positive."""
    if data_range is None:
        resolved = ref.flatten(1).amax(dim=1)
        hint = "the reference maximum (the default data_range) is not positive; pass data_range explicitly"
    else:
        resolved = torch.as_tensor(data_range, dtype=ref.dtype, device=ref.device)
        resolved = torch.broadcast_to(resolved, ref.shape[:1])
        hint = "data_range must be positive"
    if not bool((resolved > 0).all()):
        raise ValueError(hint)
    return resolved


def _masked_mean(values: Tensor, mask: Tensor | None) -> Tensor:
    """Mean of (B, H, W) ``values`` over all pixels, or over the True pixels of ``mask``: shape (B,)."""
    if mask is None:
        return values.flatten(1).mean(dim=1)
    weights = mask.to(values.dtype)
    return (values * weights).flatten(1).sum(dim=1) / weights.flatten(1).sum(dim=1)


def _finish(values: Tensor, single_image: bool) -> Tensor:
    """Drop the batch dimension again for a single (H, W) input."""
    return values[0] if single_image else values


def _check_window(window: Window, win_size: int | None, shape: torch.Size) -> int:
    """The window side to use (pixels): validated odd and no larger than the images."""
    if window not in DEFAULT_WIN_SIZE:
        raise ValueError(f"window must be 'uniform' or 'gaussian'; got {window!r}")
    size = DEFAULT_WIN_SIZE[window] if win_size is None else int(win_size)
    if size < 3 or size % 2 == 0:
        raise ValueError(f"win_size must be an odd integer >= 3; got {win_size}")
    if min(shape[-2:]) < size:
        raise ValueError(f"images of shape {tuple(shape[-2:])} are smaller than the {size} x {size} SSIM window")
    return size


def _ssim_terms(x: Tensor, ref: Tensor, data_range: Tensor, window: Window, win_size: int,
                k1: float, k2: float, pad: bool) -> Tensor:
    """SSIM map of (B, H, W) images; (B, H, W) when ``pad`` else the valid (cropped) part.

    Local statistics are taken on images shifted by the reference mean (SSIM's variances are shift-invariant),
    which keeps float32 cancellation in E[x^2] - E[x]^2 small for images with a large offset such as CT in HU.
    """
    shift = ref.flatten(1).mean(dim=1).detach()[:, None, None]
    centred_x, centred_ref = x - shift, ref - shift
    stack = torch.stack([centred_x, centred_ref, centred_x * centred_x, centred_ref * centred_ref,
                         centred_x * centred_ref])
    if pad:
        stack = pad_symmetric(stack, (win_size - 1) // 2)
    mean_x, mean_ref, mean_xx, mean_rr, mean_xr = filter_valid(stack, window_weights(window, win_size))
    n_pixels = win_size * win_size
    cov_norm = n_pixels / (n_pixels - 1) if window == "uniform" else 1.0
    var_x = cov_norm * (mean_xx - mean_x * mean_x)
    var_ref = cov_norm * (mean_rr - mean_ref * mean_ref)
    cov = cov_norm * (mean_xr - mean_x * mean_ref)
    mean_x, mean_ref = mean_x + shift, mean_ref + shift
    c1 = ((k1 * data_range) ** 2)[:, None, None]
    c2 = ((k2 * data_range) ** 2)[:, None, None]
    numerator = (2 * mean_x * mean_ref + c1) * (2 * cov + c2)
    denominator = (mean_x * mean_x + mean_ref * mean_ref + c1) * (var_x + var_ref + c2)
    return numerator / denominator


def ssim_map(x: Tensor, ref: Tensor, data_range: float | Tensor | None = None, window: Window = "uniform",
             win_size: int | None = None, k1: float = 0.01, k2: float = 0.03) -> Tensor:
    """Local SSIM at every pixel, as skimage's ``structural_similarity(ref, x, ..., full=True)`` map.

    Parameters
    ----------
    x, ref : Tensor
        Reconstruction and reference, real, (H, W) or (B, H, W) (broadcast against each other), image units.
    data_range : float or Tensor or None
        Dynamic range L in image units, scalar or per image (B,); None: the reference maximum per image
        (fastMRI's ``gt.max()`` convention). Must be positive.
    window : {"uniform", "gaussian"}
        "uniform": box window, sample covariance (skimage's default). "gaussian": gaussian taps with
        sigma = 1.5 px and population covariance (skimage's ``gaussian_weights=True,
        use_sample_covariance=False``, the settings of Wang et al. 2004).
    win_size : int or None
        Odd window side in pixels; None: 7 (uniform) or 11 (gaussian, = skimage's 3.5 sigma truncation).
        A gaussian window of another size is truncated to it (skimage would keep 11 taps, changing the crop).
    k1, k2 : float
        SSIM stabilising constants: C1 = (k1 L)^2, C2 = (k2 L)^2.

    Returns
    -------
    Tensor
        SSIM map, same shape as the broadcast inputs, dimensionless, at most 1. Near the border the window
        is completed by mirroring the image about its edge (scipy's 'reflect' mode), as skimage does.
    """
    x, ref, single_image = _prepare_images(x, ref)
    size = _check_window(window, win_size, x.shape)
    data_range = _resolve_data_range(data_range, ref)
    return _finish(_ssim_terms(x, ref, data_range, window, size, k1, k2, pad=True), single_image)


def ssim(x: Tensor, ref: Tensor, data_range: float | Tensor | None = None, mask: Tensor | None = None,
         window: Window = "uniform", win_size: int | None = None, k1: float = 0.01, k2: float = 0.03) -> Tensor:
    """Mean structural similarity per image (fastMRI / skimage convention).

    Equals ``skimage.metrics.structural_similarity(ref, x, data_range=ref.max(), win_size=7)`` by default.
    The mean is taken over the SSIM map cropped by (win_size - 1) // 2 pixels at every border, as skimage
    does, so no mirrored padding enters it.

    Parameters
    ----------
    x, ref, data_range, window, win_size, k1, k2
        As in :func:`ssim_map`.
    mask : Tensor or None
        Boolean (H, W) or (B, H, W) region. The result is then the mean of the cropped SSIM map over the mask
        pixels that survive the same crop. Each SSIM value still looks at a window around its pixel, so
        pixels just outside the mask influence it.

    Returns
    -------
    Tensor
        Mean SSIM, dimensionless, at most 1: shape (B,), or () for a single (H, W) image.

    Raises
    ------
    ValueError
        When the mask (after cropping) selects no pixel of some image, when the data range is not positive
        (for instance an all-zero reference with ``data_range=None``) or when the window does not fit.
    """
    x, ref, single_image = _prepare_images(x, ref)
    size = _check_window(window, win_size, x.shape)
    mask = _prepare_mask(mask, x.shape, x.device)
    data_range = _resolve_data_range(data_range, ref)
    ssim_values = _ssim_terms(x, ref, data_range, window, size, k1, k2, pad=False)
    if mask is not None:
        crop = (size - 1) // 2
        mask = mask[:, crop:mask.shape[1] - crop, crop:mask.shape[2] - crop]
        _require_pixels(mask, f"the mask selects no pixel once the {crop}-pixel SSIM border is cropped")
    return _finish(_masked_mean(ssim_values, mask), single_image)


def mse(x: Tensor, ref: Tensor, mask: Tensor | None = None) -> Tensor:
    """Mean squared error per image, in squared image units (skimage's ``mean_squared_error``).

    Parameters
    ----------
    x, ref : Tensor
        Reconstruction and reference, real, (H, W) or (B, H, W).
    mask : Tensor or None
        Boolean (H, W) or (B, H, W) region: average over its pixels only. An empty mask raises ValueError.

    Returns
    -------
    Tensor
        Shape (B,), or () for a single (H, W) image.
    """
    x, ref, single_image = _prepare_images(x, ref)
    mask = _prepare_mask(mask, x.shape, x.device)
    return _finish(_masked_mean((x - ref) ** 2, mask), single_image)


def psnr(x: Tensor, ref: Tensor, data_range: float | Tensor | None = None, mask: Tensor | None = None) -> Tensor:
    """Peak signal-to-noise ratio 10 log10(L^2 / MSE) per image, in dB.

    Equals skimage's ``peak_signal_noise_ratio(ref, x, data_range=ref.max())`` by default (fastMRI).

    Parameters
    ----------
    x, ref, mask
        As in :func:`mse`; with a mask, the MSE is taken over the mask pixels.
    data_range : float or Tensor or None
        Peak value L in image units, scalar or per image (B,); None: the reference maximum per image.

    Returns
    -------
    Tensor
        PSNR in dB, shape (B,) or (). Identical images (MSE = 0) give +inf (the gradient there is not finite).
    """
    x, ref, single_image = _prepare_images(x, ref)
    mask = _prepare_mask(mask, x.shape, x.device)
    data_range = _resolve_data_range(data_range, ref)
    squared_error = _masked_mean((x - ref) ** 2, mask)
    return _finish(10 * torch.log10(data_range ** 2 / squared_error), single_image)


def nmse(x: Tensor, ref: Tensor, mask: Tensor | None = None) -> Tensor:
    """Normalised mean squared error ||x - ref||^2 / ||ref||^2 per image, dimensionless (fastMRI).

    Parameters
    ----------
    x, ref, mask
        As in :func:`mse`; with a mask, both norms run over the mask pixels only.

    Returns
    -------
    Tensor
        Shape (B,) or (). Where the reference is zero (over the mask): 0 if x equals it there, else +inf.
    """
    x, ref, single_image = _prepare_images(x, ref)
    mask = _prepare_mask(mask, x.shape, x.device)
    weights = torch.ones_like(ref) if mask is None else mask.to(ref.dtype)
    error_energy = ((x - ref) ** 2 * weights).flatten(1).sum(dim=1)
    ref_energy = (ref ** 2 * weights).flatten(1).sum(dim=1)
    has_energy = ref_energy > 0
    ratio = error_energy / torch.where(has_energy, ref_energy, torch.ones_like(ref_energy))
    degenerate = torch.where(error_energy > 0, math.inf, 0.0).to(ratio.dtype)
    return _finish(torch.where(has_energy, ratio, degenerate), single_image)


def _region_metrics(x: Tensor, ref: Tensor, regions: dict[str, Tensor | None],
                    data_range: Tensor) -> dict[str, Tensor]:
    """All of METRIC_NAMES for each region (None: whole image), each of shape (B,).

    The SSIM map and the squared error are computed once and averaged per region, which is what makes
    metrics at every attack step cheap; the values equal :func:`ssim`, :func:`psnr`, :func:`mse`, :func:`nmse`.
    """
    size = DEFAULT_WIN_SIZE["uniform"]
    _check_window("uniform", size, x.shape)
    crop = (size - 1) // 2
    ssim_values = _ssim_terms(x, ref, data_range, "uniform", size, 0.01, 0.03, pad=False)
    squared_error, ref_energy = (x - ref) ** 2, ref ** 2
    results = {}
    for suffix, region in regions.items():
        cropped = None if region is None else region[:, crop:region.shape[1] - crop, crop:region.shape[2] - crop]
        if cropped is not None:
            _require_pixels(cropped, f"the region selects no pixel once the {crop}-pixel SSIM border is cropped")
        error = _masked_mean(squared_error, region)
        energy = _masked_mean(ref_energy, region)
        results["ssim" + suffix] = _masked_mean(ssim_values, cropped)
        results["psnr" + suffix] = torch.where(error > 0, 10 * torch.log10(data_range ** 2 / error),
                                               torch.full_like(error, math.inf))
        results["mse" + suffix] = error
        results["nmse" + suffix] = torch.where(energy > 0, error / torch.where(energy > 0, energy, 1.0),
                                               torch.where(error > 0, math.inf, 0.0).to(error.dtype))
    return results


def compare(x: Tensor | np.ndarray, ref: Tensor | np.ndarray, mask: Tensor | np.ndarray | None = None,
            data_range: float | None = None) -> dict[str, float | list[float]]:
    """Every metric, globally and (with a mask) inside and outside it: the rows of the GUI table / CLI report.

    Computed in float64 without gradients, with the defaults of :func:`ssim` (uniform 7 x 7 window),
    :func:`psnr`, :func:`mse` and :func:`nmse`.

    Parameters
    ----------
    x, ref : Tensor or np.ndarray
        Reconstruction and reference, real, (H, W) or (B, H, W), image units.
    mask : Tensor or np.ndarray or None
        Boolean (H, W) or (B, H, W) region of interest, e.g. where an attack put its perturbation.
    data_range : float or None
        Dynamic range for SSIM and PSNR; None: the reference maximum per image (of the whole image, also for
        the "_in" / "_out" values, so they are on the same scale as the global ones).

    Returns
    -------
    dict
        Keys from :func:`metric_keys`, in that order: "ssim", "psnr" (dB), "mse" (squared image units),
        "nmse"; with a mask also "ssim_in", "psnr_in", "mse_in", "nmse_in" (inside the mask) and
        "ssim_out", "psnr_out", "mse_out", "nmse_out" (outside it). Values are plain floats for (H, W)
        inputs and lists of B floats for (B, H, W) inputs (even B = 1). PSNR of identical images is
        float("inf"); NMSE against an all-zero reference is float("inf") (0.0 if x is zero too).

    Raises
    ------
    ValueError
        When the mask, or its complement, is empty (after the SSIM border crop), or the data range is not
        positive.
    """
    x_t = torch.as_tensor(x).to(torch.float64)
    ref_t = torch.as_tensor(ref).to(device=x_t.device, dtype=torch.float64)
    with torch.no_grad():
        x3, ref3, single_image = _prepare_images(x_t, ref_t)
        resolved_range = _resolve_data_range(data_range, ref3)
        regions: dict[str, Tensor | None] = {"": None}
        if mask is not None:
            mask_t = _prepare_mask(torch.as_tensor(mask, device=x_t.device), x3.shape, x3.device)
            _require_pixels(~mask_t, "the mask covers the whole image: there is no outside region")
            regions["_in"], regions["_out"] = mask_t, ~mask_t
        results = {name: values.item() if single_image else values.tolist()
                   for name, values in _region_metrics(x3, ref3, regions, resolved_range).items()}
    return {key: results[key] for key in metric_keys(mask is not None)}
