"""The projector onto the measured space, P = A⁺A: the exact MRI path against numpy's FFT, conjugate gradients
against a dense pseudo-inverse built with numpy, and the split e = P e + (I − P) e."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from halluview.core.analyses.projection import measured_part, split
from halluview.core.physics.ct import ParallelBeamCT
from halluview.core.physics.denoise import IdentityOperator
from halluview.core.physics.mri import MRIOperator, build_mri_operator
from halluview.core.physics.square import SquarePadded


def centred_fft(image: np.ndarray) -> np.ndarray:
    """fastMRI's centred orthonormal 2-D FFT, written with numpy (an implementation independent of torch's)."""
    return np.fft.fftshift(np.fft.fft2(np.fft.ifftshift(image, axes=(-2, -1)), norm="ortho"), axes=(-2, -1))


def centred_ifft(kspace: np.ndarray) -> np.ndarray:
    return np.fft.fftshift(np.fft.ifft2(np.fft.ifftshift(kspace, axes=(-2, -1)), norm="ortho"), axes=(-2, -1))


def dense_matrix(op, shape: tuple[int, int]) -> np.ndarray:
    """A as a dense (measurements × pixels) matrix: A applied to every unit image (A is linear over C)."""
    pixels = shape[0] * shape[1]
    units = torch.eye(pixels, dtype=torch.float64).reshape(pixels, *shape)
    if op.complex_image:
        units = units.to(torch.complex128)
    with torch.no_grad():
        columns = op(units).reshape(pixels, -1)
    return columns.numpy().T


def dense_projector(op, shape: tuple[int, int]) -> np.ndarray:
    matrix = dense_matrix(op, shape)
    return np.linalg.pinv(matrix) @ matrix


def random_coil_maps(n_coils: int, shape: tuple[int, int], seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    maps = rng.standard_normal((n_coils, *shape)) + 1j * rng.standard_normal((n_coils, *shape))
    return maps / np.sqrt(np.sum(np.abs(maps) ** 2, axis=0, keepdims=True))


def relative(actual: np.ndarray, expected: np.ndarray) -> float:
    return float(np.linalg.norm(actual - expected) / np.linalg.norm(expected))


def test_exact_mri_projection_is_the_masked_kspace_of_numpy_fft():
    op = build_mri_operator((32, 32), acceleration=4.0, seed=3)
    error = np.random.default_rng(0).standard_normal((1, 32, 32))
    measured, info = measured_part(op, torch.from_numpy(error))
    mask = op.mask.reshape(-1).numpy()
    expected = centred_ifft(centred_fft(error) * mask)
    assert info.method == "exact" and info.iterations == 0 and info.residual == 0.0
    assert measured.is_complex()  # a real error's measured part is complex: the mask is not symmetric
    assert relative(measured.numpy(), expected) < 1e-12


def test_cg_matches_the_dense_pseudo_inverse_on_a_tiny_ct():
    op = ParallelBeamCT(8, [0.0, 45.0, 90.0, 135.0])  # 32 measurements, 64 pixels: a large null space
    error = np.random.default_rng(1).standard_normal((1, 8, 8))
    expected = (dense_projector(op, (8, 8)) @ error.reshape(-1)).reshape(1, 8, 8)
    measured, info = measured_part(op, torch.from_numpy(error), iterations=200, tolerance=1e-10)
    assert info.method == "cg" and info.converged and info.residual <= 1e-10
    assert len(info.residual_history) == info.iterations + 1 and info.residual_history[0] == 1.0
    assert relative(measured.numpy(), expected) < 1e-6
    assert 0.1 < relative(measured.numpy(), error) < 1.0  # the null space is not trivial here


def test_cg_matches_the_dense_pseudo_inverse_on_a_random_coil_mri():
    mask = np.array([1, 0, 0, 1, 0, 0, 1, 0], bool)  # 2 coils × 8 × 3 = 48 measurements < 64 pixels
    op = MRIOperator(mask, random_coil_maps(2, (8, 8), seed=2))
    rng = np.random.default_rng(3)
    error = rng.standard_normal((1, 8, 8)) + 1j * rng.standard_normal((1, 8, 8))
    expected = (dense_projector(op, (8, 8)) @ error.reshape(-1)).reshape(1, 8, 8)
    measured, info = measured_part(op, torch.from_numpy(error), iterations=300, tolerance=1e-10)
    assert info.method == "cg" and info.converged
    assert relative(measured.numpy(), expected) < 1e-6
    assert 0.05 < relative(measured.numpy(), error) < 1.0


def test_exact_and_cg_agree_on_single_coil_mri():
    op = build_mri_operator((32, 32), acceleration=4.0, seed=5)
    error = torch.from_numpy(np.random.default_rng(4).standard_normal((2, 32, 32)))
    exact, _ = measured_part(op, error)
    by_cg, info = measured_part(op, error, method="cg", iterations=50, tolerance=1e-10)
    assert info.method == "cg" and info.iterations <= 3  # A*A is itself the projector: CG is done at once
    assert relative(by_cg.numpy(), exact.numpy()) < 1e-9


def test_denoising_measures_everything():
    error = torch.from_numpy(np.random.default_rng(5).standard_normal((1, 6, 6)))
    measured, null, info = split(IdentityOperator(), error)
    assert info.method == "exact"
    assert torch.equal(measured, error) and not bool(null.abs().any())


@pytest.mark.parametrize("operator", ["mri", "ct"])
def test_the_split_sums_to_the_error_and_its_parts_are_orthogonal(operator):
    if operator == "mri":
        op, shape = build_mri_operator((16, 16), acceleration=4.0, seed=1), (16, 16)
    else:
        op, shape = SquarePadded(ParallelBeamCT(8, [0.0, 60.0, 120.0]), (6, 8)), (6, 8)
    error = torch.from_numpy(np.random.default_rng(6).standard_normal((1, *shape)))
    measured, null, _ = split(op, error, tolerance=1e-10)
    assert torch.allclose(measured + null, error.to(measured.dtype), atol=1e-12, rtol=0)
    inner = torch.sum(torch.real(torch.conj(measured) * null)) if measured.is_complex() else torch.sum(measured * null)
    assert abs(float(inner)) < 1e-8 * float(torch.sum(error ** 2))


def test_an_error_in_the_null_space_has_no_measured_part():
    op = ParallelBeamCT(8, [0.0, 90.0])
    error = torch.zeros(1, 8, 8, dtype=torch.float64)
    error[0, 0, 0] = 1.0  # outside the inscribed circle: no ray sees it
    measured, info = measured_part(op, error)
    assert info.iterations == 0 and info.residual == 0.0 and not bool(measured.any())


def test_cg_that_runs_out_of_iterations_says_so():
    op = ParallelBeamCT(8, [0.0, 45.0, 90.0, 135.0])
    error = torch.from_numpy(np.random.default_rng(7).standard_normal((1, 8, 8)))
    _, info = measured_part(op, error, iterations=2, tolerance=1e-12)
    assert info.iterations == 2 and not info.converged and info.residual > 1e-12
    assert info.residual == info.residual_history[-1]
