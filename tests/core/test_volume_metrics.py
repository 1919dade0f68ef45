"""Volume metrics against fastMRI's own ``fastmri.evaluate`` (ssim, psnr, nmse over a volume)."""
import math

import numpy as np
import pytest
import torch
from fastmri_fixture import phantom_volume, write_fastmri_h5
from fastmri_reference import evaluate

from halluview.core.io import read_scan
from halluview.core.metrics import psnr as slice_psnr
from halluview.core.metrics import ssim as slice_ssim
from halluview.core.volume_metrics import VolumeMetrics, volume_metrics


def scalar(value) -> float:
    """fastMRI's ssim returns a (1,) array, the others 0-d arrays."""
    return float(np.asarray(value).reshape(-1)[0])


def noisy_pair(kind: str, dtype: type) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    if kind == "random":
        target = rng.uniform(0, 1, (5, 40, 36))
        target[2] *= 0.3  # slices with different maxima: the volume's max differs from each slice's
    else:
        target = phantom_volume(4, 48, 40).astype(np.float64) * np.array([1.0, 0.5, 2.0, 1.2])[:, None, None]
    recon = target + 0.05 * rng.standard_normal(target.shape)
    return target.astype(dtype), recon.astype(dtype)


@pytest.mark.parametrize("kind", ["random", "phantom"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("maxval", [None, 2.5])
def test_equal_to_fastmri_evaluate(kind, dtype, maxval):
    target, recon = noisy_pair(kind, dtype)
    ours = volume_metrics(recon, target, maxval)
    tolerance = 1e-10 if dtype == np.float64 else 2e-5  # skimage computes float32 input in float32
    assert ours.ssim == pytest.approx(scalar(evaluate.ssim(target, recon, maxval)), rel=tolerance, abs=tolerance)
    assert ours.psnr == pytest.approx(scalar(evaluate.psnr(target, recon, maxval)), rel=tolerance)
    assert ours.nmse == pytest.approx(scalar(evaluate.nmse(target, recon)), rel=tolerance)
    assert ours.mse == pytest.approx(scalar(evaluate.mse(target, recon)), rel=tolerance)
    assert ours.maxval == pytest.approx(float(target.max()) if maxval is None else maxval)


def test_the_volume_mode_differs_from_averaging_slice_metrics():
    """Per-slice SSIM with each slice's own max, and the mean of slice PSNRs, are other numbers."""
    target, recon = noisy_pair("random", np.float64)
    ours = volume_metrics(recon, target)
    per_slice = torch.from_numpy(recon), torch.from_numpy(target)
    assert abs(ours.ssim - float(slice_ssim(*per_slice).mean())) > 1e-3
    assert abs(ours.psnr - float(slice_psnr(*per_slice).mean())) > 0.1
    assert ours.ssim == pytest.approx(np.mean(ours.ssim_per_slice)) and len(ours.ssim_per_slice) == 5


def test_takes_torch_tensors_single_slices_and_lazy_volumes(tmp_path):
    target, recon = noisy_pair("phantom", np.float64)
    from_numpy = volume_metrics(recon, target)
    assert volume_metrics(torch.from_numpy(recon), torch.from_numpy(target)) == from_numpy
    one = volume_metrics(recon[1], target[1])
    assert one.ssim == pytest.approx(scalar(evaluate.ssim(target[1:2], recon[1:2])), rel=1e-10)
    written = write_fastmri_h5(tmp_path / "f.h5", phantom_volume(3, 32, 24), n_coils=2, reference_name=None)
    lazy = read_scan(written.path).volume  # the zero-filled RSS, computed slice by slice
    expected = np.asarray(lazy).astype(np.float64)
    result = volume_metrics(lazy, written.reference)
    assert result.ssim == pytest.approx(scalar(evaluate.ssim(written.reference.astype(np.float64), expected)),
                                        rel=1e-6)
    assert result.nmse == pytest.approx(scalar(evaluate.nmse(written.reference.astype(np.float64), expected)),
                                        rel=1e-6)


def test_identical_volumes_and_report_dictionary():
    target, _ = noisy_pair("phantom", np.float64)
    same = volume_metrics(target, target)
    assert same.ssim == pytest.approx(1.0) and same.psnr == math.inf and same.nmse == 0 and same.mse == 0
    assert set(same.as_dict()) == {"ssim", "psnr", "nmse", "mse", "maxval"}
    assert isinstance(same, VolumeMetrics)


@pytest.mark.parametrize(("x", "ref", "maxval", "error", "words"), [
    (np.zeros((2, 8, 8)), np.zeros((2, 8, 9)), None, ValueError, "same shape"),
    (np.zeros((2, 8, 8)), np.zeros((2, 8, 8)), None, ValueError, "all-zero reference"),
    (np.ones((2, 8, 8)), np.ones((2, 8, 8)), -1.0, ValueError, "must be positive"),
    (np.full((2, 8, 8), np.nan), np.ones((2, 8, 8)), None, ValueError, "x slice 0 holds NaN"),
    (np.ones((2, 8, 8), complex), np.ones((2, 8, 8)), None, TypeError, "complex"),
    (np.ones(8), np.ones(8), None, ValueError, "stack of slices"),
])
def test_bad_input_is_refused_in_words(x, ref, maxval, error, words):
    with pytest.raises(error, match=words):
        volume_metrics(x, ref, maxval)
