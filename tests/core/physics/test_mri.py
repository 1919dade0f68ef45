"""MRI operator: fastMRI's FFT, masks and coil conventions, checked against numpy and the published formulas."""
import numpy as np
import pytest
import torch

from halluview.core.physics.base import operator_norm, real_inner
from halluview.core.physics.mri import build_mri_operator, center_crop, fft2c, ifft2c, make_mask, simulate_coil_maps


def numpy_fft2c(x):
    return np.fft.fftshift(np.fft.fftn(np.fft.ifftshift(x, axes=(-2, -1)), axes=(-2, -1), norm="ortho"),
                           axes=(-2, -1))


@pytest.mark.parametrize("shape", [(16, 16), (15, 22), (3, 4, 9, 7)])
def test_fft2c_matches_numpy_centred_orthonormal_fft(shape):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
    ours = fft2c(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ours, numpy_fft2c(x), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ifft2c(torch.from_numpy(ours)).numpy(), x, atol=1e-12)
    assert np.linalg.norm(ours) == pytest.approx(np.linalg.norm(x))  # orthonormal


@pytest.mark.parametrize("num_cols,cf,acc", [(368, 0.08, 4), (320, 0.04, 8), (64, 0.08, 4), (101, 0.1, 3)])
def test_masks_follow_fastmri_formulas(num_cols, cf, acc):
    """The published formulas (tests/core/physics/test_masks.py compares with fastMRI's code itself)."""
    num_low = round(num_cols * cf)
    start = (num_cols - num_low + 1) // 2
    for kind in ("random", "equispaced", "equispaced_fraction", "magic", "magic_fraction"):
        mask = make_mask(kind, num_cols, cf, acc, seed=3)
        assert mask.dtype == bool and mask.shape == (num_cols,)
        if kind != "magic_fraction":  # its centre is bounded by N / R
            assert mask[start:start + num_low].all()
        np.testing.assert_array_equal(mask, make_mask(kind, num_cols, cf, acc, seed=3))  # seeded
    # Random columns outside the centre appear with probability (N/acc - num_low) / (N - num_low).
    prob = (num_cols / acc - num_low) / (num_cols - num_low)
    outside = np.ones(num_cols, bool)
    outside[start:start + num_low] = False
    draws = np.stack([make_mask("random", num_cols, cf, acc, seed=s)[outside] for s in range(400)])
    assert draws.mean() == pytest.approx(prob, abs=0.01)
    # The random draw is the one fastMRI makes: RandomState(seed).uniform(size=N) < prob.
    expected = np.random.RandomState(5).uniform(size=num_cols) < prob
    expected[start:start + num_low] = True
    np.testing.assert_array_equal(make_mask("random", num_cols, cf, acc, seed=5), expected)
    # The fraction masks reach the requested overall acceleration; plain equispaced samples every acc-th column.
    for kind in ("equispaced_fraction", "magic_fraction"):
        assert num_cols / make_mask(kind, num_cols, cf, acc, seed=0).sum() == pytest.approx(acc, rel=0.1)
    every = make_mask("equispaced", num_cols, cf, acc, seed=0, offset=1)
    assert every[1::acc].all() and not (every & ~np.isin(np.arange(num_cols), np.arange(1, num_cols, acc))
                                         & outside).any()


def test_coil_maps_are_normalised_and_smooth():
    maps = simulate_coil_maps(8, (64, 48), seed=1)
    assert maps.shape == (8, 64, 48) and maps.dtype == np.complex64
    np.testing.assert_allclose(np.sum(np.abs(maps) ** 2, axis=0), 1.0, rtol=1e-5)
    assert np.abs(np.diff(maps, axis=-1)).max() < 0.2  # smooth: no jumps between neighbours


@pytest.mark.parametrize("coils", [1, 4])
def test_adjointness(coils):
    op = build_mri_operator((24, 20), acceleration=4, n_coils=coils, seed=2)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 24, 20, 2, generator=gen)
    x = torch.complex(x[..., 0], x[..., 1])
    y = torch.randn(2, coils, 24, 20, 2, generator=gen)
    y = torch.complex(y[..., 0], y[..., 1])
    lhs, rhs = real_inner(op(x), y), real_inner(x, op.adjoint(y))
    assert abs(float(lhs - rhs)) <= 1e-5 * abs(float(lhs))


def test_operator_norm_is_one_and_baseline_is_zero_filled_rss():
    single = build_mri_operator((32, 32), acceleration=4, n_coils=1, seed=0)
    assert operator_norm(single, (1, 32, 32)) == pytest.approx(1.0, abs=1e-4)  # masked orthonormal FFT
    op = build_mri_operator((32, 32), acceleration=4, n_coils=4, seed=0)
    assert operator_norm(op, (1, 32, 32)) <= 1.0 + 1e-5  # Σ|S|² = 1 bounds it by 1
    x = torch.rand(1, 32, 32)
    y = op(x)
    coil_images = np.fft.fftshift(np.fft.ifftn(np.fft.ifftshift(y.numpy(), axes=(-2, -1)), axes=(-2, -1),
                                               norm="ortho"), axes=(-2, -1))
    rss = np.sqrt(np.sum(np.abs(coil_images) ** 2, axis=1))
    np.testing.assert_allclose(op.baseline(y).numpy(), rss, rtol=1e-4, atol=1e-6)
    full = build_mri_operator((32, 32), mask_type="full", n_coils=4)
    np.testing.assert_allclose(full.baseline(full(x)).numpy(), x.numpy(), atol=1e-5)  # Σ|S|² = 1


def test_baseline_gradient_is_finite_where_the_image_is_zero():
    op = build_mri_operator((16, 16), mask_type="full", n_coils=2)
    y = op(torch.zeros(1, 16, 16)).requires_grad_(True)
    grad, = torch.autograd.grad(op.baseline(y).sum(), y)
    assert torch.isfinite(torch.view_as_real(grad)).all()


def test_center_crop_matches_fastmri_convention():
    x = torch.arange(7 * 9).reshape(7, 9)
    cropped = center_crop(x, (4, 4))
    assert cropped[0, 0] == x[1, 2]  # top = (7 - 4) // 2, left = (9 - 4) // 2
