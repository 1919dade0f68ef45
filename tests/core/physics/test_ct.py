"""ParallelBeamCT against scikit-image's radon / iradon, plus adjointness, gradients and batching."""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import pytest
import torch
from scipy.ndimage import gaussian_filter
from skimage.data import shepp_logan_phantom
from skimage.transform import iradon, radon, resize

from halluview.core.physics.base import real_inner
from halluview.core.physics.ct import ParallelBeamCT, ct_angles

# (kind, n_angles, max_angle_deg): the three clinical angle sets under test.
ANGLE_SETS = {"full": ("full", 180, 180.0), "sparse": ("sparse", 60, 180.0), "limited": ("limited", 120, 120.0)}


def relative_error(actual: np.ndarray, expected: np.ndarray) -> float:
    return float(np.linalg.norm(actual - expected) / np.linalg.norm(expected))


def circle(size: int) -> np.ndarray:
    offsets = np.arange(size) - size // 2
    return offsets[:, None] ** 2 + offsets[None, :] ** 2 <= (size // 2) ** 2


@lru_cache(maxsize=None)
def phantom(size: int) -> np.ndarray:
    image = resize(shepp_logan_phantom(), (size, size), anti_aliasing=True)
    return image * circle(size)


@lru_cache(maxsize=None)
def smooth_random_image(size: int, seed: int = 0) -> np.ndarray:
    noise = np.random.default_rng(seed).standard_normal((size, size))
    return gaussian_filter(noise, sigma=3.0) * circle(size)


@lru_cache(maxsize=None)
def skimage_sinogram(size: int, angle_set: str) -> np.ndarray:
    return radon(phantom(size), theta=ct_angles(*ANGLE_SETS[angle_set]), circle=True)


def as_batch(array: np.ndarray, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.as_tensor(array, dtype=dtype)[None]


@pytest.mark.parametrize("size", [128, 256])
def test_forward_matches_skimage_radon_on_phantom(size: int) -> None:
    op = ParallelBeamCT(size)
    sinogram = op(as_batch(phantom(size)))[0].numpy()
    assert sinogram.shape == (size, 180)
    assert relative_error(sinogram, skimage_sinogram(size, "full")) < 1e-4


@pytest.mark.parametrize("angle_set", ["sparse", "limited"])
def test_forward_matches_skimage_radon_on_reduced_angle_sets(angle_set: str) -> None:
    op = ParallelBeamCT.from_kind(128, *ANGLE_SETS[angle_set])
    sinogram = op(as_batch(phantom(128)))[0].numpy()
    assert relative_error(sinogram, skimage_sinogram(128, angle_set)) < 1e-4


@pytest.mark.parametrize("size", [64, 65])  # odd sizes move the centre convention: N // 2, not (N - 1) / 2
def test_forward_matches_skimage_radon_on_smooth_random_image(size: int) -> None:
    angles = ct_angles("limited", 37, 150.0)
    image = smooth_random_image(size)
    sinogram = ParallelBeamCT(size, angles)(as_batch(image, torch.float64))[0].numpy()
    assert relative_error(sinogram, radon(image, theta=angles, circle=True)) < 1e-6


@pytest.mark.parametrize("angle_set", ["full", "sparse", "limited"])
def test_fbp_matches_skimage_iradon(angle_set: str) -> None:
    size, angles = 128, ct_angles(*ANGLE_SETS[angle_set])
    sinogram = skimage_sinogram(size, angle_set)
    expected = iradon(sinogram, theta=angles, circle=True, filter_name="ramp", interpolation="linear",
                      output_size=size)
    op = ParallelBeamCT(size, angles)
    recon = op.baseline(as_batch(sinogram))[0].numpy()
    inside = circle(size)
    assert relative_error(recon[inside], expected[inside]) < 1e-4
    assert np.all(recon[~inside] == 0)


@pytest.mark.parametrize("filter_name", ["shepp-logan", "cosine", "hamming", "hann"])
def test_fbp_filters_match_skimage(filter_name: str) -> None:
    size, angles = 65, ct_angles("full", 45)
    sinogram = radon(smooth_random_image(size), theta=angles, circle=True)
    expected = iradon(sinogram, theta=angles, circle=True, filter_name=filter_name, output_size=size)
    recon = ParallelBeamCT(size, angles).fbp(as_batch(sinogram, torch.float64), filter_name)[0].numpy()
    assert relative_error(recon, expected) < 1e-9


def test_fbp_rejects_unknown_filter() -> None:
    op = ParallelBeamCT(16, ct_angles("full", 4))
    with pytest.raises(ValueError, match="unknown filter"):
        op.fbp(torch.zeros(1, 16, 4), "butterworth")


@pytest.mark.parametrize("size, angle_set", [(48, ("full", 30, 180.0)), (33, ("limited", 25, 120.0))])
def test_adjoint_is_exact_in_float64(size: int, angle_set: tuple) -> None:
    op = ParallelBeamCT.from_kind(size, *angle_set)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, size, size, generator=gen, dtype=torch.float64)
    y = torch.randn(2, size, op.n_angles, generator=gen, dtype=torch.float64)
    lhs, rhs = real_inner(op(x), y), real_inner(x, op.adjoint(y))
    assert abs(float(lhs - rhs)) <= 1e-10 * abs(float(lhs))


def test_adjoint_in_float32() -> None:
    op = ParallelBeamCT.from_kind(64, "sparse", 20)
    gen = torch.Generator().manual_seed(1)
    x, y = torch.rand(1, 64, 64, generator=gen), torch.rand(1, 64, 20, generator=gen)
    lhs, rhs = float(real_inner(op(x), y)), float(real_inner(x, op.adjoint(y)))
    assert abs(lhs - rhs) <= 1e-4 * abs(lhs)


def test_pixels_outside_the_circle_are_ignored() -> None:
    size = 32
    op = ParallelBeamCT(size, ct_angles("full", 12))
    outside = torch.as_tensor(~circle(size), dtype=torch.float64)
    x = torch.rand(1, size, size, dtype=torch.float64)
    torch.testing.assert_close(op(x + 5.0 * outside), op(x))
    assert torch.all(op.adjoint(torch.rand(1, size, 12, dtype=torch.float64)) * outside == 0)


def test_gradients_of_forward_adjoint_and_fbp() -> None:
    op = ParallelBeamCT(16, ct_angles("limited", 7, 120.0))
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(1, 16, 16, generator=gen, dtype=torch.float64, requires_grad=True)
    y = torch.randn(1, 16, 7, generator=gen, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(op, (x,))
    assert torch.autograd.gradcheck(op.adjoint, (y,))
    # fast_mode compares random directional derivatives: FBP's FFTs cost ~10 ms each on a busy 2-core CPU.
    assert torch.autograd.gradcheck(op.fbp, (y,), fast_mode=True)


def test_second_derivatives() -> None:
    """Attacks may differentiate a gradient (e.g. through an unrolled data-consistency step)."""
    op = ParallelBeamCT(16, ct_angles("limited", 7, 120.0))
    gen = torch.Generator().manual_seed(5)
    x = torch.randn(1, 16, 16, generator=gen, dtype=torch.float64, requires_grad=True)
    y = torch.randn(1, 16, 7, generator=gen, dtype=torch.float64, requires_grad=True)
    # fast_mode checks random projections of the Jacobians: full second-order checks take seconds on a busy CPU.
    assert torch.autograd.gradgradcheck(op, (x,), fast_mode=True)
    assert torch.autograd.gradgradcheck(op.adjoint, (y,), fast_mode=True)
    assert torch.autograd.gradgradcheck(op.fbp, (y,), fast_mode=True)


def test_forward_gradient_is_the_adjoint() -> None:
    op = ParallelBeamCT(24, ct_angles("full", 10))
    x = torch.zeros(1, 24, 24, dtype=torch.float64, requires_grad=True)
    y = torch.randn(1, 24, 10, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    (grad,) = torch.autograd.grad(real_inner(op(x), y), x)
    torch.testing.assert_close(grad, op.adjoint(y))


def test_batch_items_are_independent() -> None:
    op = ParallelBeamCT(40, ct_angles("sparse", 15))
    gen = torch.Generator().manual_seed(4)
    x = torch.randn(3, 40, 40, generator=gen)
    y = torch.randn(3, 40, 15, generator=gen)
    batched = (op(x), op.adjoint(y), op.fbp(y))
    singles = [torch.cat([fn(t[i:i + 1]) for i in range(3)]) for fn, t in ((op, x), (op.adjoint, y), (op.fbp, y))]
    for together, one_by_one in zip(batched, singles):
        torch.testing.assert_close(together, one_by_one, rtol=1e-5, atol=1e-5)


def test_large_operator_keeps_no_dense_state() -> None:
    op = ParallelBeamCT(320)
    stored = sum(t.numel() for t in op.buffers()) + sum(p.numel() for p in op.parameters())
    assert stored < 4 * 320 * 320


def test_config_rebuilds_the_operator() -> None:
    op = ParallelBeamCT.from_kind(50, "limited", 30, 90.0)
    settings = op.config()
    assert settings["kind"] == "ct" and settings["image_size"] == 50
    rebuilt = ParallelBeamCT(settings["image_size"], settings["angles_deg"])
    x = torch.rand(1, 50, 50)
    torch.testing.assert_close(rebuilt(x), op(x), rtol=0, atol=0)


def test_ct_angles() -> None:
    full = ct_angles("full")
    np.testing.assert_allclose(full, np.arange(180.0))
    np.testing.assert_allclose(ct_angles("sparse", 60), full[::3])
    limited = ct_angles("limited", 120, 120.0)
    np.testing.assert_allclose(limited, np.arange(120.0))
    with pytest.raises(ValueError):
        ct_angles("helical")
    with pytest.raises(ValueError):
        ct_angles("limited", 10, 270.0)


def test_shape_checks() -> None:
    op = ParallelBeamCT(16, ct_angles("full", 4))
    with pytest.raises(ValueError, match="image batch"):
        op(torch.zeros(16, 16))
    with pytest.raises(ValueError, match="sinogram"):
        op.adjoint(torch.zeros(1, 16, 5))
