"""2-D discrete wavelet transforms in torch with PyWavelets' two boundary modes, for "haar" (= "db1"), "db2", "db4".

``mode="periodization"`` matches ``pywt.wavedec2(x, wavelet, mode="periodization", level=L)`` coefficient for
coefficient. The filter bank is then an orthonormal basis: :func:`wavedec2` preserves the Euclidean norm and
:func:`waverec2` (its adjoint) is its exact inverse. Each of H and W must be divisible by 2**levels;
:func:`reflect_pad_to_multiple` and :func:`crop_to` pad other sizes and crop back (the padded transform is no longer
orthogonal on the original pixels).

``mode="symmetric"`` is PyWavelets' default, the one ``skimage.restoration.denoise_wavelet`` uses
(``pywt.wavedecn`` / ``pywt.waverecn``): the signal is extended by half-sample mirroring, each level has
floor((n + L - 1) / 2) coefficients per axis (L = filter length), any size works, and :func:`waverec2` crops an
approximation one sample longer than the next details, as ``waverecn`` does. Its coefficients form a frame, not a
basis: reconstruction is exact, but the norm is not preserved and synthesis is not the adjoint (except for "haar"
on even sizes, where both modes coincide).

Everything is plain differentiable torch (strided convolutions, their transposes, index gathers for the
extensions), so gradients flow through both directions. An image batch is (..., H, W), real or complex (a complex
image is transformed as real and imaginary parts, the transform being real-linear).
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

# Decomposition low-pass filters in PyWavelets' ``Wavelet(name).dec_lo`` order (tests check them against pywt).
WAVELET_DEC_LO: dict[str, tuple[float, ...]] = {
    "haar": (0.7071067811865476, 0.7071067811865476),
    "db2": (-0.12940952255126037, 0.2241438680420134, 0.8365163037378079, 0.48296291314453416),
    "db4": (-0.010597401785069032, 0.0328830116668852, 0.030841381835560764, -0.18703481171909309,
            -0.027983769416859854, 0.6308807679298589, 0.7148465705529157, 0.2303778133088965),
}
WAVELET_DEC_LO["db1"] = WAVELET_DEC_LO["haar"]

#: PyWavelets' boundary modes implemented here.
MODES: tuple[str, ...] = ("symmetric", "periodization")


class WaveletCoeffs(NamedTuple):
    """Multi-level coefficients in pywt's order.

    Attributes
    ----------
    approx : Tensor
        Coarsest approximation, (..., H / 2**L, W / 2**L).
    details : list of Tensor
        Detail coefficients, coarsest level first; level ``j`` (0-based) is (..., 3, h_j, w_j) (H / 2**(L-j) by
        W / 2**(L-j) with periodization), the three channels being pywt's (cH, cV, cD): high-pass along H, along W,
        along both.
    """

    approx: Tensor
    details: list[Tensor]


def decomposition_filters(wavelet: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """PyWavelets' ``(dec_lo, dec_hi)`` for ``wavelet``; dec_hi[j] = (-1)**(j+1) * dec_lo[L-1-j] (QMF)."""
    if wavelet not in WAVELET_DEC_LO:
        raise ValueError(f"unknown wavelet {wavelet!r}; choose one of {sorted(WAVELET_DEC_LO)}")
    dec_lo = WAVELET_DEC_LO[wavelet]
    length = len(dec_lo)
    dec_hi = tuple((-1) ** (j + 1) * dec_lo[length - 1 - j] for j in range(length))
    return dec_lo, dec_hi


def _filter_bank(wavelet: str, dtype: torch.dtype, device: torch.device) -> Tensor:
    """The four separable 2-D correlation kernels (approx, cH, cV, cD) as a conv2d weight (4, 1, L, L)."""
    dec_lo, dec_hi = decomposition_filters(wavelet)
    # conv2d correlates, pywt convolves: reverse the filters.
    lo = torch.tensor(dec_lo[::-1], dtype=dtype, device=device)
    hi = torch.tensor(dec_hi[::-1], dtype=dtype, device=device)
    kernels = [torch.outer(rows, cols) for rows, cols in ((lo, lo), (hi, lo), (lo, hi), (hi, hi))]
    return torch.stack(kernels).unsqueeze(1)


def _periodic_index(size: int, filter_length: int, device: torch.device) -> Tensor:
    """Indices of the periodic extension that pywt's periodization mode convolves over: size + L - 2 samples."""
    offset = 1 - filter_length // 2
    return torch.remainder(torch.arange(size + filter_length - 2, device=device) + offset, size)


def _on_real_parts(transform: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    """Apply a real-linear map to a real tensor, or to the real and imaginary parts of a complex one."""
    if not x.is_complex():
        return transform(x)
    both = transform(torch.cat([x.real, x.imag], dim=0))
    real, imag = both.chunk(2, dim=0)
    return torch.complex(real, imag)


def _check_even(height: int, width: int) -> None:
    if height % 2 or width % 2:
        raise ValueError(f"image size {height}x{width} must be even at every level; pad with reflect_pad_to_multiple")


def dwt2(x: Tensor, wavelet: str) -> tuple[Tensor, Tensor]:
    """One level of the periodized 2-D DWT, equal to ``pywt.dwt2(x, wavelet, mode="periodization")``.

    Parameters
    ----------
    x : Tensor
        Image batch (..., H, W), real or complex, H and W even.
    wavelet : str
        "haar" / "db1", "db2" or "db4".

    Returns
    -------
    approx : Tensor
        (..., H/2, W/2).
    details : Tensor
        (..., 3, H/2, W/2): (cH, cV, cD).
    """
    height, width = x.shape[-2:]
    _check_even(height, width)
    lead = x.shape[:-2]

    def analyse(real: Tensor) -> Tensor:
        bank = _filter_bank(wavelet, real.dtype, real.device)
        length = bank.shape[-1]
        rows = _periodic_index(height, length, real.device)
        cols = _periodic_index(width, length, real.device)
        flat = real.reshape(-1, 1, height, width)
        extended = flat.index_select(2, rows).index_select(3, cols)
        return F.conv2d(extended, bank, stride=2)

    coeffs = _on_real_parts(analyse, x).reshape(*lead, 4, height // 2, width // 2)
    return coeffs[..., 0, :, :], coeffs[..., 1:, :, :]


def idwt2(approx: Tensor, details: Tensor, wavelet: str) -> Tensor:
    """Inverse (= adjoint) of :func:`dwt2`: (..., h, w) and (..., 3, h, w) -> image (..., 2h, 2w)."""
    lead = approx.shape[:-2]
    half_h, half_w = approx.shape[-2:]
    height, width = 2 * half_h, 2 * half_w
    coeffs = torch.cat([approx.unsqueeze(-3), details], dim=-3)

    def synthesise(real: Tensor) -> Tensor:
        bank = _filter_bank(wavelet, real.dtype, real.device)
        length = bank.shape[-1]
        rows = _periodic_index(height, length, real.device)
        cols = _periodic_index(width, length, real.device)
        extended = F.conv_transpose2d(real.reshape(-1, 4, half_h, half_w), bank, stride=2)[:, 0]
        # Adjoint of the periodic gather: add every extended sample back onto the pixel it was copied from.
        folded_cols = extended.new_zeros(extended.shape[0], extended.shape[1], width).index_add(2, cols, extended)
        return folded_cols.new_zeros(extended.shape[0], height, width).index_add(1, rows, folded_cols)

    return _on_real_parts(synthesise, coeffs).reshape(*lead, height, width)


def _symmetric_index(size: int, filter_length: int, device: torch.device) -> Tensor:
    """Indices of pywt's half-sample symmetric extension (x[-1] = x[0], repeated for short signals) over the
    positions -(L - 2) … size + L - 2 that one level of the symmetric-mode DWT reads."""
    positions = np.arange(-(filter_length - 2), size + filter_length - 1) % (2 * size)
    return torch.from_numpy(np.where(positions < size, positions, 2 * size - 1 - positions)).to(device)


def _filter_pair(wavelet: str, dtype: torch.dtype, device: torch.device) -> Tensor:
    """(2, 1, L): pywt's rec_lo and rec_hi (= the reversed decomposition filters), for conv1d and its transpose."""
    dec_lo, dec_hi = decomposition_filters(wavelet)
    return torch.tensor([dec_lo[::-1], dec_hi[::-1]], dtype=dtype, device=device).unsqueeze(1)


def _analyse_last_axis(x: Tensor, wavelet: str) -> Tensor:
    """Symmetric-mode ``pywt.dwt`` along the last axis of a real (..., n) tensor -> (..., 2, m), [approx, detail]."""
    size = x.shape[-1]
    bank = _filter_pair(wavelet, x.dtype, x.device)
    extended = x.reshape(-1, 1, size).index_select(2, _symmetric_index(size, bank.shape[-1], x.device))
    coeffs = F.conv1d(extended, bank, stride=2)
    return coeffs.reshape(*x.shape[:-1], 2, coeffs.shape[-1])


def _synthesise_last_axis(coeffs: Tensor, wavelet: str) -> Tensor:
    """Symmetric-mode ``pywt.idwt`` along the last axis: real (..., 2, m) -> (..., 2m - L + 2)."""
    bank = _filter_pair(wavelet, coeffs.dtype, coeffs.device)
    length, half = bank.shape[-1], coeffs.shape[-1]
    full = F.conv_transpose1d(coeffs.reshape(-1, 2, half), bank, stride=2)
    return full[:, 0, length - 2 : 2 * half].reshape(*coeffs.shape[:-2], 2 * half - length + 2)


def dwt2_symmetric(x: Tensor, wavelet: str) -> tuple[Tensor, Tensor]:
    """One level of ``pywt.dwt2(x, wavelet, mode="symmetric")``: (..., H, W) -> approx (..., h, w) and details
    (..., 3, h, w) = (cH, cV, cD), with h = floor((H + L - 1) / 2) and likewise w."""

    def analyse(real: Tensor) -> Tensor:  # (N, H, W) -> (N, 2 row bands, h, 2 column bands, w)
        along_rows = _analyse_last_axis(real.transpose(-1, -2), wavelet).permute(0, 2, 3, 1)  # (N, 2, h, W)
        return _analyse_last_axis(along_rows, wavelet)

    bands = _on_real_parts(analyse, x.reshape(-1, *x.shape[-2:]))
    bands = bands.reshape(*x.shape[:-2], *bands.shape[1:])
    approx, c_v = bands[..., 0, :, 0, :], bands[..., 0, :, 1, :]
    c_h, c_d = bands[..., 1, :, 0, :], bands[..., 1, :, 1, :]
    return approx, torch.stack([c_h, c_v, c_d], dim=-3)


def idwt2_symmetric(approx: Tensor, details: Tensor, wavelet: str) -> Tensor:
    """``pywt.idwt2((approx, (cH, cV, cD)), wavelet, mode="symmetric")``: (..., h, w) -> (..., 2h-L+2, 2w-L+2)."""
    c_h, c_v, c_d = details.unbind(dim=-3)
    coeffs = torch.stack([torch.stack([approx, c_v], dim=-2), torch.stack([c_h, c_d], dim=-2)], dim=-4)

    def synthesise(real: Tensor) -> Tensor:  # (N, 2 row bands, h, 2 column bands, w) -> (N, H, W)
        along_cols = _synthesise_last_axis(real, wavelet).permute(0, 3, 1, 2)  # (N, W, 2, h)
        return _synthesise_last_axis(along_cols, wavelet).transpose(-1, -2)

    image = _on_real_parts(synthesise, coeffs.reshape(-1, *coeffs.shape[-4:]))
    return image.reshape(*approx.shape[:-2], *image.shape[-2:])


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise ValueError(f"unknown wavelet boundary mode {mode!r}; choose one of {', '.join(MODES)}")


def wavedec2(x: Tensor, wavelet: str, levels: int, mode: str = "periodization") -> WaveletCoeffs:
    """Multi-level 2-D DWT, equal to ``pywt.wavedec2(x, wavelet, mode=mode, level=levels)``.

    Parameters
    ----------
    x : Tensor
        Image batch (..., H, W), real or complex; with periodization H and W divisible by 2**levels.
    wavelet : str
        "haar" / "db1", "db2" or "db4".
    levels : int
        Number of decomposition levels (>= 1).
    mode : str
        "periodization" (orthonormal) or "symmetric" (pywt's and skimage's default), see the module notes.
    """
    _check_mode(mode)
    height, width = x.shape[-2:]
    if levels < 1 or (mode == "periodization" and (height % 2 ** levels or width % 2 ** levels)):
        raise ValueError(f"image size {height}x{width} must be divisible by 2**levels = {2 ** levels}")
    step = dwt2 if mode == "periodization" else dwt2_symmetric
    details: list[Tensor] = []
    approx = x
    for _ in range(levels):
        approx, detail = step(approx, wavelet)
        details.insert(0, detail)
    return WaveletCoeffs(approx, details)


def waverec2(coeffs: WaveletCoeffs, wavelet: str, mode: str = "periodization") -> Tensor:
    """Inverse of :func:`wavedec2` (``pywt.waverec2``; with periodization also its adjoint): coefficients ->
    image. With the symmetric mode the image can be one pixel larger than the one decomposed, as with pywt."""
    _check_mode(mode)
    image = coeffs.approx
    for detail in coeffs.details:
        if mode == "periodization":
            image = idwt2(image, detail, wavelet)
        else:  # pywt.waverecn: an approximation one sample longer than the details loses its last sample
            image = idwt2_symmetric(image[..., : detail.shape[-2], : detail.shape[-1]], detail, wavelet)
    return image


def reflect_pad_to_multiple(x: Tensor, multiple: int) -> tuple[Tensor, tuple[int, int]]:
    """Reflect-pad the last two axes of (..., H, W) at the bottom/right up to multiples of ``multiple``.

    Returns the padded tensor and the original (H, W) for :func:`crop_to`. Needs the padding < H and < W.
    """
    height, width = x.shape[-2:]
    pad_h, pad_w = (-height) % multiple, (-width) % multiple
    if pad_h == 0 and pad_w == 0:
        return x, (height, width)

    def pad(real: Tensor) -> Tensor:
        flat = real.reshape(-1, 1, height, width)
        return F.pad(flat, (0, pad_w, 0, pad_h), mode="reflect")

    padded = _on_real_parts(pad, x)
    return padded.reshape(*x.shape[:-2], height + pad_h, width + pad_w), (height, width)


def crop_to(x: Tensor, size: tuple[int, int]) -> Tensor:
    """Keep the top-left ``size`` = (H, W) of the last two axes (undoes :func:`reflect_pad_to_multiple`)."""
    return x[..., : size[0], : size[1]]
