"""Tests of halluview.core.metrics against scikit-image, the reference implementation fastMRI evaluates with."""
from __future__ import annotations

import functools
import math

import numpy as np
import pydicom
import pydicom.data
import pytest
import torch
from scipy.ndimage import gaussian_filter
from skimage.metrics import mean_squared_error as sk_mse
from skimage.metrics import normalized_root_mse as sk_nrmse
from skimage.metrics import peak_signal_noise_ratio as sk_psnr
from skimage.metrics import structural_similarity as sk_ssim

from halluview.core import metrics

TOL = 1e-4
SIZES = [(32, 32), (37, 53), (64, 48), (11, 9)]
DTYPES = [torch.float32, torch.float64]
SK_GAUSSIAN = dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False)


def _random_pair(shape: tuple[int, ...], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(reference, reconstruction): uniform noise in [0, 1) and a noisy copy of it."""
    rng = np.random.default_rng(seed)
    ref = rng.random(shape)
    return ref, ref + 0.2 * rng.standard_normal(shape)


def _smooth_pair(shape: tuple[int, int], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(reference, reconstruction): low-pass images with a positive offset, slightly perturbed."""
    rng = np.random.default_rng(seed)
    ref = 2.0 + gaussian_filter(rng.standard_normal(shape), sigma=3.0)
    return ref, ref + gaussian_filter(0.1 * rng.standard_normal(shape), sigma=2.0)


@functools.lru_cache(maxsize=1)
def _ct_pair() -> tuple[np.ndarray, np.ndarray]:
    """(reference, reconstruction): pydicom's 128 x 128 CT test slice (raw stored values) and a noisy copy."""
    path = pydicom.data.get_testdata_file("CT_small.dcm", download=False)
    ref = pydicom.dcmread(path).pixel_array.astype(np.float64)
    return ref, ref + np.random.default_rng(0).normal(0.0, 40.0, ref.shape)


def _pairs() -> list[tuple[np.ndarray, np.ndarray]]:
    pairs = [_random_pair(shape, seed) for seed, shape in enumerate(SIZES)]
    pairs += [_smooth_pair((40, 57), 7), _ct_pair()]
    return pairs


PAIRS = _pairs()
PAIR_IDS = ["random32x32", "random37x53", "random64x48", "random11x9", "smooth40x57", "ct_small"]


def _t(array: np.ndarray, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    return torch.tensor(array, dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("pair", PAIRS, ids=PAIR_IDS)
def test_uniform_ssim_psnr_mse_nmse_match_skimage(pair, dtype):
    ref, x = pair
    expected_ssim = sk_ssim(ref, x, data_range=ref.max(), win_size=7)
    assert metrics.ssim(_t(x, dtype), _t(ref, dtype)).item() == pytest.approx(expected_ssim, abs=TOL)
    expected_psnr = sk_psnr(ref, x, data_range=ref.max())
    assert metrics.psnr(_t(x, dtype), _t(ref, dtype)).item() == pytest.approx(expected_psnr, abs=TOL)
    expected_mse = sk_mse(ref, x)
    assert metrics.mse(_t(x, dtype), _t(ref, dtype)).item() == pytest.approx(expected_mse, rel=TOL)
    expected_nmse = sk_nrmse(ref, x, normalization="euclidean") ** 2
    assert metrics.nmse(_t(x, dtype), _t(ref, dtype)).item() == pytest.approx(expected_nmse, rel=TOL)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("pair", PAIRS[:3] + PAIRS[4:], ids=PAIR_IDS[:3] + PAIR_IDS[4:])
def test_gaussian_ssim_matches_skimage_wang_settings(pair, dtype):
    ref, x = pair
    expected = sk_ssim(ref, x, data_range=ref.max(), **SK_GAUSSIAN)
    assert metrics.ssim(_t(x, dtype), _t(ref, dtype), window="gaussian").item() == pytest.approx(expected, abs=TOL)


@pytest.mark.parametrize("window", ["uniform", "gaussian"])
@pytest.mark.parametrize("pair", [PAIRS[1], PAIRS[-1]], ids=["random37x53", "ct_small"])
def test_ssim_map_matches_skimage_full_map_including_borders(pair, window):
    ref, x = pair
    options = SK_GAUSSIAN if window == "gaussian" else dict(win_size=7)
    _, expected_map = sk_ssim(ref, x, data_range=ref.max(), full=True, **options)
    ours = metrics.ssim_map(_t(x, torch.float32), _t(ref, torch.float32), window=window)
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours.double().numpy(), expected_map, atol=TOL)


def test_explicit_data_range_and_constants_match_skimage():
    ref, x = PAIRS[1]
    expected = sk_ssim(ref, x, data_range=3.0, win_size=9, K1=0.02, K2=0.05)
    ours = metrics.ssim(_t(x), _t(ref), data_range=3.0, win_size=9, k1=0.02, k2=0.05)
    assert ours.item() == pytest.approx(expected, abs=TOL)
    assert metrics.psnr(_t(x), _t(ref), data_range=3.0).item() == pytest.approx(
        sk_psnr(ref, x, data_range=3.0), abs=TOL)


def test_integer_input_is_promoted_like_skimage():
    ref, x = _ct_pair()
    ref_int, x_int = ref.astype(np.int16), np.round(x).astype(np.int16)
    expected = sk_ssim(ref_int.astype(np.float64), x_int.astype(np.float64), data_range=ref.max())
    ours = metrics.ssim(torch.from_numpy(x_int), torch.from_numpy(ref_int))
    assert ours.dtype == torch.get_default_dtype()
    assert ours.item() == pytest.approx(expected, abs=TOL)


def _blob_mask(shape: tuple[int, int]) -> np.ndarray:
    rows, cols = np.mgrid[:shape[0], :shape[1]]
    return (rows - shape[0] * 0.4) ** 2 + (cols - shape[1] * 0.6) ** 2 < (min(shape) / 3) ** 2


@pytest.mark.parametrize("window", ["uniform", "gaussian"])
@pytest.mark.parametrize("pair", [PAIRS[1], PAIRS[-1]], ids=["random37x53", "ct_small"])
def test_masked_ssim_is_mean_of_skimage_map_over_cropped_mask(pair, window):
    ref, x = pair
    mask = _blob_mask(ref.shape)
    options = SK_GAUSSIAN if window == "gaussian" else dict(win_size=7)
    _, full_map = sk_ssim(ref, x, data_range=ref.max(), full=True, **options)
    crop = 5 if window == "gaussian" else 3
    inner = (slice(crop, -crop), slice(crop, -crop))
    for region in (mask, ~mask):
        expected = full_map[inner][region[inner]].mean()
        ours = metrics.ssim(_t(x), _t(ref), mask=torch.from_numpy(region), window=window)
        assert ours.item() == pytest.approx(expected, abs=TOL)


@pytest.mark.parametrize("pair", [PAIRS[1], PAIRS[-1]], ids=["random37x53", "ct_small"])
def test_masked_psnr_mse_nmse_use_only_mask_pixels(pair):
    ref, x = pair
    mask = _blob_mask(ref.shape)
    mask_t = torch.from_numpy(mask)
    assert metrics.mse(_t(x), _t(ref), mask=mask_t).item() == pytest.approx(sk_mse(ref[mask], x[mask]), rel=TOL)
    expected_psnr = sk_psnr(ref[mask], x[mask], data_range=ref.max())
    assert metrics.psnr(_t(x), _t(ref), data_range=ref.max(), mask=mask_t).item() == pytest.approx(
        expected_psnr, abs=TOL)
    expected_nmse = np.sum((x[mask] - ref[mask]) ** 2) / np.sum(ref[mask] ** 2)
    assert metrics.nmse(_t(x), _t(ref), mask=mask_t).item() == pytest.approx(expected_nmse, rel=TOL)


def test_batched_equals_per_image_loop():
    rng = np.random.default_rng(3)
    ref = torch.tensor(rng.random((4, 37, 53)) * np.arange(1, 5)[:, None, None])
    x = ref + 0.1 * torch.tensor(rng.standard_normal((4, 37, 53)))
    masks = torch.from_numpy(rng.random((4, 37, 53)) < 0.3)
    for name in ("ssim", "psnr", "mse", "nmse"):
        function = getattr(metrics, name)
        batched = function(x, ref, mask=masks)
        looped = torch.stack([function(x[i], ref[i], mask=masks[i]) for i in range(4)])
        assert batched.shape == (4,)
        torch.testing.assert_close(batched, looped)
    torch.testing.assert_close(metrics.ssim_map(x, ref)[2], metrics.ssim_map(x[2], ref[2]))


def test_single_image_gives_scalar_and_shared_mask_broadcasts():
    ref, x = PAIRS[0]
    assert metrics.ssim(_t(x), _t(ref)).shape == ()
    batch_x = torch.stack([_t(x), _t(ref)])
    shared_mask = torch.from_numpy(_blob_mask(ref.shape))
    result = metrics.ssim(batch_x, _t(ref), mask=shared_mask)
    assert result.shape == (2,)
    assert result[1].item() == pytest.approx(1.0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("window", ["uniform", "gaussian"])
def test_gradients_exist_and_are_finite(dtype, window):
    ref, x = (image[32:96, 40:104] for image in _ct_pair())
    x_t = _t(x, dtype).requires_grad_(True)
    mask = torch.from_numpy(_blob_mask(ref.shape))
    objective = (metrics.ssim(x_t, _t(ref, dtype), window=window, mask=mask) + metrics.psnr(x_t, _t(ref, dtype))
                 + metrics.nmse(x_t, _t(ref, dtype)) + metrics.mse(x_t, _t(ref, dtype), mask=mask))
    objective.backward()
    assert x_t.grad is not None and x_t.grad.dtype == dtype
    assert torch.isfinite(x_t.grad).all() and x_t.grad.abs().sum() > 0


def test_ssim_gradient_matches_finite_differences():
    rng = np.random.default_rng(5)
    ref = torch.tensor(rng.random((2, 7, 8)))
    x = (ref + 0.3 * torch.tensor(rng.standard_normal((2, 7, 8)))).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda image: metrics.ssim(image, ref, win_size=5), (x,))
    assert torch.autograd.gradcheck(lambda image: metrics.ssim_map(image, ref, window="gaussian", win_size=5), (x,))


def test_identical_images():
    ref = _t(PAIRS[1][0])
    assert metrics.ssim(ref, ref).item() == pytest.approx(1.0)
    assert metrics.psnr(ref, ref).item() == math.inf
    assert metrics.mse(ref, ref).item() == 0.0
    assert metrics.nmse(ref, ref).item() == 0.0


def test_zero_reference():
    zeros = torch.zeros(16, 16)
    assert metrics.nmse(torch.ones(16, 16), zeros).item() == math.inf
    assert metrics.nmse(zeros, zeros).item() == 0.0
    with pytest.raises(ValueError, match="data_range"):
        metrics.ssim(torch.ones(16, 16), zeros)
    with pytest.raises(ValueError, match="data_range"):
        metrics.psnr(torch.ones(16, 16), zeros)
    assert metrics.psnr(torch.ones(16, 16), zeros, data_range=1.0).item() == pytest.approx(0.0)


def test_invalid_inputs_raise_clear_errors():
    ref, x = _t(PAIRS[0][0]), _t(PAIRS[0][1])
    empty = torch.zeros(ref.shape, dtype=torch.bool)
    for function in (metrics.ssim, metrics.psnr, metrics.mse, metrics.nmse):
        with pytest.raises(ValueError, match="mask is empty"):
            function(x, ref, mask=empty)
    border_only = empty.clone()
    border_only[0, :] = True
    with pytest.raises(ValueError, match="border"):
        metrics.ssim(x, ref, mask=border_only)
    with pytest.raises(ValueError, match="odd"):
        metrics.ssim(x, ref, win_size=6)
    with pytest.raises(ValueError, match="smaller"):
        metrics.ssim(x[:5], ref[:5])
    with pytest.raises(ValueError, match="window"):
        metrics.ssim(x, ref, window="box")
    with pytest.raises(TypeError, match="magnitude"):
        metrics.ssim(torch.complex(x, x), ref)
    with pytest.raises(TypeError, match="boolean"):
        metrics.mse(x, ref, mask=empty.float())


def test_compare_keys_values_and_types():
    ref, x = PAIRS[1]
    mask = _blob_mask(ref.shape)
    plain = metrics.compare(x, ref)
    assert list(plain) == ["ssim", "psnr", "mse", "nmse"] == metrics.metric_keys(False)
    assert all(isinstance(value, float) for value in plain.values())
    assert plain["ssim"] == pytest.approx(sk_ssim(ref, x, data_range=ref.max()), abs=TOL)
    masked = metrics.compare(torch.from_numpy(x).float(), torch.from_numpy(ref), mask=mask)
    assert list(masked) == metrics.metric_keys(True)
    assert list(masked)[4:] == ["ssim_in", "psnr_in", "mse_in", "nmse_in", "ssim_out", "psnr_out", "mse_out",
                                "nmse_out"]
    assert masked["mse_in"] == pytest.approx(sk_mse(ref[mask], x[mask]), rel=TOL)
    assert masked["mse_out"] == pytest.approx(sk_mse(ref[~mask], x[~mask]), rel=TOL)
    assert masked["psnr_out"] == pytest.approx(sk_psnr(ref[~mask], x[~mask], data_range=ref.max()), abs=TOL)
    assert metrics.compare(ref, ref)["psnr"] == math.inf


def test_compare_batch_returns_lists():
    ref = np.stack([PAIRS[1][0], 2 * PAIRS[1][0]])
    x = np.stack([PAIRS[1][1], 2 * PAIRS[1][1]])
    result = metrics.compare(x, ref, mask=_blob_mask(ref.shape[1:]))
    assert all(isinstance(value, list) and len(value) == 2 for value in result.values())
    assert result["ssim_in"][0] == pytest.approx(result["ssim_in"][1], abs=1e-9)
    assert metrics.compare(x[:1], ref[:1])["nmse"] == pytest.approx([metrics.compare(x[0], ref[0])["nmse"]])
    with pytest.raises(ValueError, match="whole image"):
        metrics.compare(x, ref, mask=np.ones(ref.shape[1:], dtype=bool))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu():
    ref, x = _ct_pair()
    for dtype in DTYPES:
        cpu = metrics.ssim(_t(x, dtype), _t(ref, dtype), window="gaussian")
        gpu = metrics.ssim(_t(x, dtype).cuda(), _t(ref, dtype).cuda(), window="gaussian")
        assert gpu.device.type == "cuda"
        assert gpu.cpu().item() == pytest.approx(cpu.item(), abs=TOL)
