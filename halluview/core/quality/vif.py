"""Pixel-domain visual information fidelity (VIFp; Sheikh & Bovik, IEEE TIP 15(2), 2006) in torch.

Scaling convention (piq's ``vif_p``): both images are divided by the data range L of the reference and multiplied
by 255, so the model's visual-noise variance sigma_n^2 = 2 is in 8-bit grey levels whatever the scan's units.
The algorithm is then exactly torchmetrics' ``visual_information_fidelity`` (and piq's): 4 scales; at scale k
(0..3) a Gaussian window of N = 2^(4-k) + 1 taps with sigma N / 5, 'valid' filtering; between scales the images are
filtered with that scale's window and decimated by 2; VIF = sum of the information the distorted image keeps over
the sum of the information in the reference, over all scales and positions.
"""
from __future__ import annotations

import torch
from torch import Tensor
from torch.nn.functional import conv2d

SIGMA_N_SQ = 2.0
"""Variance of the visual noise, in squared 8-bit grey levels (Sheikh & Bovik's and piq's default)."""
SCALES = 4
MIN_SIDE = 41
"""The smallest image side the four 'valid'-filtered scales fit in (torchmetrics refuses smaller ones)."""
_EPS = 1e-10


def _window(size: int, dtype: torch.dtype, device: torch.device) -> Tensor:
    """The normalised 1-D Gaussian taps; the 2-D window is their outer product (it separates exactly)."""
    coords = torch.arange(size, dtype=dtype, device=device) - (size - 1) / 2
    weights = torch.exp(-coords ** 2 / (2 * (size / 5) ** 2))
    return weights / weights.sum()


def _filter(images: Tensor, taps: Tensor) -> Tensor:
    """'Valid' 2-D Gaussian filtering of (N, 1, H, W) images, as two 1-D passes."""
    rows = conv2d(images, taps.reshape(1, 1, 1, -1))
    return conv2d(rows, taps.reshape(1, 1, -1, 1))


def _scale_information(x: Tensor, ref: Tensor, taps: Tensor, sigma_n_sq: float) -> tuple[Tensor, Tensor]:
    """(information kept by x, information in ref) at one scale, summed over positions: shapes (B,)."""
    mu_x, mu_r, mean_xx, mean_rr, mean_rx = _filter(torch.cat([x, ref, x * x, ref * ref, ref * x]),
                                                    taps).split(x.shape[0])
    var_r = torch.clamp(mean_rr - mu_r ** 2, min=0.0)
    var_x = torch.clamp(mean_xx - mu_x ** 2, min=0.0)
    cov = mean_rx - mu_r * mu_x
    gain = cov / (var_r + _EPS)
    var_v = var_x - gain * cov
    flat_ref = var_r < _EPS  # no signal in the reference: all of x's variance is distortion
    gain, var_v, var_r = (torch.where(flat_ref, 0.0, gain), torch.where(flat_ref, var_x, var_v),
                          torch.where(flat_ref, 0.0, var_r))
    flat_x = var_x < _EPS  # no signal left in x
    gain, var_v = torch.where(flat_x, 0.0, gain), torch.where(flat_x, 0.0, var_v)
    inverted = gain < 0  # a negative gain carries no information: treat x as pure distortion there
    var_v, gain = torch.where(inverted, var_x, var_v), torch.where(inverted, 0.0, gain)
    var_v = torch.clamp(var_v, min=_EPS)
    kept = torch.log10(1 + gain ** 2 * var_r / (var_v + sigma_n_sq)).flatten(1).sum(dim=1)
    total = torch.log10(1 + var_r / sigma_n_sq).flatten(1).sum(dim=1)
    return kept, total


def vif_p(x: Tensor, ref: Tensor, data_range: float | Tensor, sigma_n_sq: float = SIGMA_N_SQ) -> Tensor:
    """VIFp of reconstruction ``x`` against reference ``ref``.

    Parameters
    ----------
    x, ref : Tensor
        Real images (H, W) or (B, H, W), image units; both sides at least :data:`MIN_SIDE` pixels.
    data_range : float or Tensor
        L in image units (scalar or per image (B,)): both images are mapped by 255 / L before the model applies.
    sigma_n_sq : float
        Visual-noise variance in squared 8-bit grey levels.

    Returns
    -------
    Tensor
        VIF per image ((B,) or 0-dim): 1 for identical images (with signal), 0 when nothing is kept, above 1
        for a contrast-enhanced x.
    """
    single = x.ndim == 2
    x3, ref3 = (x[None], ref[None]) if single else (x, ref)
    if min(x3.shape[-2:]) < MIN_SIDE:
        raise ValueError(f"VIF needs images of at least {MIN_SIDE}×{MIN_SIDE} pixels; got {tuple(x3.shape[-2:])}")
    dtype = torch.promote_types(x3.dtype, ref3.dtype)
    dtype = dtype if dtype.is_floating_point else torch.get_default_dtype()
    scale = 255.0 / torch.as_tensor(data_range, dtype=dtype, device=x3.device).reshape(-1, 1, 1, 1)
    x4, ref4 = x3.to(dtype)[:, None] * scale, ref3.to(dtype)[:, None] * scale
    kept = total = torch.zeros(x4.shape[0], dtype=dtype, device=x4.device)
    for k in range(SCALES):
        taps = _window(2 ** (SCALES - k) + 1, dtype, x4.device)
        if k > 0:
            x4, ref4 = (_filter(image, taps)[..., ::2, ::2] for image in (x4, ref4))
        scale_kept, scale_total = _scale_information(x4, ref4, taps, sigma_n_sq)
        kept, total = kept + scale_kept, total + scale_total
    values = kept / total
    return values[0] if single else values
