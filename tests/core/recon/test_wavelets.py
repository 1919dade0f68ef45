"""The torch DWT against PyWavelets' periodization and symmetric modes, and the periodized one's orthogonality."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import pywt  # the test extra's independent wavelet reference
import torch

from halluview.core.recon.wavelets import (
    WAVELET_DEC_LO,
    crop_to,
    decomposition_filters,
    dwt2,
    idwt2,
    idwt2_symmetric,
    reflect_pad_to_multiple,
    wavedec2,
    waverec2,
)

WAVELETS = ["haar", "db2", "db4"]


@pytest.mark.parametrize("wavelet", WAVELETS + ["db1"])
def test_filters_match_pywt(wavelet: str) -> None:
    reference = pywt.Wavelet(wavelet)
    dec_lo, dec_hi = decomposition_filters(wavelet)
    np.testing.assert_allclose(dec_lo, reference.dec_lo, rtol=0, atol=1e-15)
    np.testing.assert_allclose(dec_hi, reference.dec_hi, rtol=0, atol=1e-15)
    assert reference.orthogonal


def test_unknown_wavelet_rejected() -> None:
    with pytest.raises(ValueError, match="unknown wavelet"):
        decomposition_filters("sym4")


@pytest.mark.parametrize("wavelet", WAVELETS)
@pytest.mark.parametrize("levels", [1, 3])
def test_wavedec2_equals_pywt_periodization(wavelet: str, levels: int) -> None:
    rng = np.random.default_rng(1)
    images = rng.standard_normal((2, 64, 128))
    coeffs = wavedec2(torch.from_numpy(images), wavelet, levels)
    reference = pywt.wavedec2(images, wavelet, mode="periodization", level=levels)
    assert len(coeffs.details) == levels == len(reference) - 1
    np.testing.assert_allclose(coeffs.approx.numpy(), reference[0], rtol=0, atol=1e-12)
    for detail, (c_h, c_v, c_d) in zip(coeffs.details, reference[1:]):
        np.testing.assert_allclose(detail.numpy(), np.stack([c_h, c_v, c_d], axis=-3), rtol=0, atol=1e-12)


@pytest.mark.parametrize("wavelet", WAVELETS)
def test_waverec2_equals_pywt(wavelet: str) -> None:
    rng = np.random.default_rng(2)
    reference = pywt.wavedec2(rng.standard_normal((64, 64)), wavelet, mode="periodization", level=2)
    coeffs = wavedec2(torch.zeros(64, 64, dtype=torch.float64), wavelet, 2)
    coeffs.approx.copy_(torch.from_numpy(reference[0]))
    for detail, bands in zip(coeffs.details, reference[1:]):
        detail.copy_(torch.from_numpy(np.stack(bands)))
    expected = pywt.waverec2(reference, wavelet, mode="periodization")
    np.testing.assert_allclose(waverec2(coeffs, wavelet).numpy(), expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("wavelet", WAVELETS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.complex64])
def test_orthogonal_norm_and_perfect_reconstruction(wavelet: str, dtype: torch.dtype) -> None:
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(3, 32, 16, generator=gen, dtype=dtype)
    coeffs = wavedec2(x, wavelet, levels=3)  # db4 on 4x2 at level 3: the periodic extension wraps several times
    energy = coeffs.approx.abs().pow(2).sum() + sum(d.abs().pow(2).sum() for d in coeffs.details)
    torch.testing.assert_close(energy, x.abs().pow(2).sum(), rtol=1e-5, atol=0)
    assert (waverec2(coeffs, wavelet) - x).abs().max() < 1e-5
    assert coeffs.approx.dtype == dtype


def test_synthesis_is_adjoint_of_analysis() -> None:
    gen = torch.Generator().manual_seed(4)
    x = torch.randn(2, 16, 16, generator=gen, dtype=torch.float64)
    approx = torch.randn(2, 8, 8, generator=gen, dtype=torch.float64)
    details = torch.randn(2, 3, 8, 8, generator=gen, dtype=torch.float64)
    x_approx, x_details = dwt2(x, "db4")
    lhs = (x_approx * approx).sum() + (x_details * details).sum()
    rhs = (x * idwt2(approx, details, "db4")).sum()
    torch.testing.assert_close(lhs, rhs, rtol=1e-12, atol=1e-12)


def test_gradients_flow_through_transform() -> None:
    gen = torch.Generator().manual_seed(5)
    x = torch.randn(1, 8, 8, generator=gen, dtype=torch.float64, requires_grad=True)
    approx = torch.randn(1, 4, 4, generator=gen, dtype=torch.float64, requires_grad=True)
    details = torch.randn(1, 3, 4, 4, generator=gen, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda image: wavedec2(image, "db2", 2).details[0], (x,), fast_mode=True)
    assert torch.autograd.gradcheck(lambda a, d: idwt2(a, d, "db2"), (approx, details), fast_mode=True)


def test_sizes_not_divisible_are_rejected_then_padded() -> None:
    x = torch.randn(1, 30, 21)
    with pytest.raises(ValueError, match="divisible"):
        wavedec2(x, "haar", 2)
    padded, size = reflect_pad_to_multiple(x, 4)
    assert padded.shape == (1, 32, 24) and size == (30, 21)
    torch.testing.assert_close(padded[..., 30, :21], x[..., 28, :])  # reflect: row 30 mirrors row 28
    restored = crop_to(waverec2(wavedec2(padded, "haar", 2), "haar"), size)
    torch.testing.assert_close(restored, x, rtol=0, atol=1e-5)


def test_pad_complex_and_noop() -> None:
    x = torch.randn(2, 8, 8, dtype=torch.complex64)
    same, size = reflect_pad_to_multiple(x, 8)
    assert same is x and size == (8, 8)
    padded, _ = reflect_pad_to_multiple(x[:, :7], 8)
    torch.testing.assert_close(padded[:, 7], x[:, 5])


def test_db1_is_haar() -> None:
    assert WAVELET_DEC_LO["db1"] == WAVELET_DEC_LO["haar"]


def _pywt_symmetric(images: np.ndarray, wavelet: str, levels: int) -> list:
    with warnings.catch_warnings():  # pywt warns when every coefficient feels the boundary (tiny images)
        warnings.simplefilter("ignore", UserWarning)
        return pywt.wavedec2(images, wavelet, mode="symmetric", level=levels)


@pytest.mark.parametrize("wavelet", WAVELETS)
@pytest.mark.parametrize("levels", [1, 3])
@pytest.mark.parametrize("shape", [(2, 64, 128), (1, 37, 50), (1, 9, 5)])
def test_symmetric_mode_equals_pywt_both_ways(wavelet: str, levels: int, shape: tuple[int, ...]) -> None:
    """pywt's default boundary (skimage's): any size, floor((n + L - 1) / 2) coefficients per level, repeated
    mirroring on tiny sizes, and waverec2's cropping of a one-longer approximation."""
    images = np.random.default_rng(6).standard_normal(shape)
    coeffs = wavedec2(torch.from_numpy(images), wavelet, levels, mode="symmetric")
    reference = _pywt_symmetric(images, wavelet, levels)
    np.testing.assert_allclose(coeffs.approx.numpy(), reference[0], rtol=0, atol=1e-12)
    for detail, bands in zip(coeffs.details, reference[1:], strict=True):
        np.testing.assert_allclose(detail.numpy(), np.stack(bands, axis=-3), rtol=0, atol=1e-12)
    rng = np.random.default_rng(7)  # synthesis of arbitrary coefficients, not only of a decomposition
    randomised = [rng.standard_normal(reference[0].shape)] + [tuple(rng.standard_normal(b.shape) for b in bands)
                                                              for bands in reference[1:]]
    coeffs.approx.copy_(torch.from_numpy(randomised[0]))
    for detail, bands in zip(coeffs.details, randomised[1:]):
        detail.copy_(torch.from_numpy(np.stack(bands, axis=-3)))
    expected = pywt.waverec2(randomised, wavelet, mode="symmetric")
    np.testing.assert_allclose(waverec2(coeffs, wavelet, mode="symmetric").numpy(), expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("wavelet", WAVELETS)
def test_symmetric_mode_reconstructs_complex_images(wavelet: str) -> None:
    gen = torch.Generator().manual_seed(8)
    x = torch.randn(2, 21, 30, generator=gen, dtype=torch.complex128)
    coeffs = wavedec2(x, wavelet, 3, mode="symmetric")
    torch.testing.assert_close(crop_to(waverec2(coeffs, wavelet, mode="symmetric"), (21, 30)), x, rtol=0, atol=1e-12)
    real = wavedec2(x.real, wavelet, 3, mode="symmetric")
    torch.testing.assert_close(coeffs.details[0].real, real.details[0], rtol=0, atol=0)


def test_symmetric_mode_gradients_flow() -> None:
    gen = torch.Generator().manual_seed(9)
    x = torch.randn(1, 9, 7, generator=gen, dtype=torch.float64, requires_grad=True)
    approx = torch.randn(1, 6, 5, generator=gen, dtype=torch.float64, requires_grad=True)
    details = torch.randn(1, 3, 6, 5, generator=gen, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda image: wavedec2(image, "db4", 2, mode="symmetric").details[0], (x,),
                                    fast_mode=True)
    assert torch.autograd.gradcheck(lambda a, d: idwt2_symmetric(a, d, "db2"), (approx, details), fast_mode=True)


def test_unknown_mode_rejected() -> None:
    with pytest.raises(ValueError, match="boundary mode 'zero'"):
        wavedec2(torch.zeros(1, 8, 8), "haar", 1, mode="zero")
