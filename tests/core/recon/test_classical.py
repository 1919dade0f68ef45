"""Classical reconstructions against scikit-image / PyWavelets, on a local masked-FFT operator, and autograd."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import pywt  # the test extra's independent wavelet reference
import torch
from skimage.restoration import denoise_tv_chambolle, denoise_wavelet
from torch import Tensor

from halluview.core.physics.base import Operator
from halluview.core.physics.denoise import IdentityOperator
from halluview.core.recon.classical import (
    BaselineRecon,
    TVRecon,
    WaveletRecon,
    image_gradient,
    image_gradient_adjoint,
    soft_threshold,
    wavelet_shrink,
)
from halluview.core.recon.wavelets import wavedec2

_DIMS = (-2, -1)


def fft2c(x: Tensor) -> Tensor:
    return torch.fft.fftshift(torch.fft.fft2(torch.fft.ifftshift(x, dim=_DIMS), norm="ortho"), dim=_DIMS)


def ifft2c(k: Tensor) -> Tensor:
    return torch.fft.fftshift(torch.fft.ifft2(torch.fft.ifftshift(k, dim=_DIMS), norm="ortho"), dim=_DIMS)


class MaskedFFT(Operator):
    """Single-coil Cartesian MRI: image (B, H, W) complex -> k-space (B, 1, H, W) masked."""

    domain = "kspace"
    complex_image = True

    def __init__(self, mask: Tensor) -> None:
        super().__init__()
        self.register_buffer("mask", mask)

    def forward(self, x: Tensor) -> Tensor:
        return self.mask * fft2c(x.to(torch.complex64)).unsqueeze(1)

    def adjoint(self, y: Tensor) -> Tensor:
        return ifft2c(self.mask * y)[:, 0]

    def baseline(self, y: Tensor) -> Tensor:
        return self.adjoint(y).abs()

    def config(self) -> dict:
        return {"kind": "test-mfft"}


class NotIdentity(Operator):
    """A = I without being an IdentityOperator, to force WaveletRecon's FISTA path."""

    def forward(self, x: Tensor) -> Tensor:
        return x

    def adjoint(self, y: Tensor) -> Tensor:
        return y


def phantom(n: int) -> np.ndarray:
    """Piecewise-constant: a disk, a rectangle and a small bright disk, values in [0, 1.5]."""
    yy, xx = np.mgrid[:n, :n] / n
    image = np.zeros((n, n))
    image[(xx - 0.5) ** 2 + (yy - 0.5) ** 2 < 0.16] = 1.0
    image[int(0.3 * n):int(0.5 * n), int(0.3 * n):int(0.45 * n)] = 0.5
    image[(xx - 0.6) ** 2 + (yy - 0.65) ** 2 < 0.01] = 1.5
    return image


def column_mask(n: int, acceleration: int = 4, seed: int = 0) -> Tensor:
    """n / acceleration phase-encode columns: the central n / 8 plus random others."""
    rng = np.random.RandomState(seed)
    columns = np.zeros(n, dtype=bool)
    columns[n // 2 - n // 16:n // 2 + n // 16] = True
    columns[rng.choice(np.flatnonzero(~columns), n // acceleration - columns.sum(), replace=False)] = True
    return torch.from_numpy(np.broadcast_to(columns, (n, n)).copy()).float()


def relative_error(estimate: np.ndarray | Tensor, reference: np.ndarray | Tensor) -> float:
    estimate, reference = np.asarray(estimate, dtype=float), np.asarray(reference, dtype=float)
    return float(np.linalg.norm(estimate - reference) / np.linalg.norm(reference))


@pytest.fixture(scope="module")
def mri_problem() -> tuple[MaskedFFT, Tensor, Tensor]:
    op = MaskedFFT(column_mask(64))
    truth = torch.tensor(phantom(64), dtype=torch.float32)[None]
    gen = torch.Generator().manual_seed(0)
    kspace = op(truth)
    noise = torch.complex(torch.randn(kspace.shape, generator=gen), torch.randn(kspace.shape, generator=gen))
    return op, truth, kspace + 0.01 * op.mask * noise


@pytest.fixture(scope="module")
def noisy_image() -> tuple[np.ndarray, float]:
    sigma = 0.1
    return phantom(64) + sigma * np.random.default_rng(0).standard_normal((64, 64)), sigma


def tv_objective(u: np.ndarray, f: np.ndarray, weight: float) -> float:
    grad = image_gradient(torch.from_numpy(u)[None])[0].numpy()
    return 0.5 * float(((u - f) ** 2).sum()) + weight * float(np.sqrt((grad ** 2).sum(0)).sum())


# ---------------------------------------------------------------------------------------------- building blocks


def test_gradient_adjoint_pair() -> None:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 7, 9, generator=gen, dtype=torch.float64)
    p = torch.randn(2, 2, 7, 9, generator=gen, dtype=torch.float64)
    torch.testing.assert_close((image_gradient(x) * p).sum(), (x * image_gradient_adjoint(p)).sum())
    assert torch.all(image_gradient(x)[:, 0, -1] == 0) and torch.all(image_gradient(x)[:, 1, :, -1] == 0)


def test_soft_threshold_real_and_complex() -> None:
    real = torch.tensor([-2.0, -0.5, 0.0, 0.3, 3.0])
    torch.testing.assert_close(soft_threshold(real, 1.0), torch.tensor([-1.0, 0.0, 0.0, 0.0, 2.0]))
    z = torch.tensor([3 + 4j, 0.3 + 0.4j, 0j], dtype=torch.complex64)
    torch.testing.assert_close(soft_threshold(z, 1.0), torch.tensor([2.4 + 3.2j, 0j, 0j], dtype=torch.complex64))


def test_baseline_recon(mri_problem: tuple[MaskedFFT, Tensor, Tensor]) -> None:
    op, _, kspace = mri_problem
    torch.testing.assert_close(BaselineRecon(op)(kspace), op.adjoint(kspace).abs())
    y = torch.randn(2, 8, 8)
    assert BaselineRecon(IdentityOperator())(y) is y
    assert json.loads(json.dumps(BaselineRecon(op).config()))["name"] == "baseline"


# ---------------------------------------------------------------------------------------------- TV


def test_tv_identity_matches_skimage_chambolle(noisy_image: tuple[np.ndarray, float]) -> None:
    """skimage minimises ½||u - f||² + weight·TV(u) (same differences, Neumann boundary): lam = weight.

    eps=0 disables skimage's energy-based early stop (its default eps=2e-4 stops ~5 % away from the minimiser here).
    The objective is 1-strongly convex, so ||u - u*|| <= sqrt(2 (F(u) - F*)): objective agreement to 1e-3
    relative bounds the distance; the measured relative L2 is ~8e-4 (300 CP vs 2000 Chambolle iterations).
    """
    noisy, _ = noisy_image
    weight = 0.1
    reference = denoise_tv_chambolle(noisy, weight=weight, eps=0.0, max_num_iter=2000)
    ours = TVRecon(IdentityOperator(), lam=weight, n_iter=300)(torch.from_numpy(noisy)[None])[0].numpy()
    assert relative_error(ours, reference) < 1e-2
    f_ours, f_ref = tv_objective(ours, noisy, weight), tv_objective(reference, noisy, weight)
    assert abs(f_ours - f_ref) < 1e-3 * f_ref
    assert relative_error(noisy, reference) > 0.1  # the tolerance is far tighter than the denoising effect
    mismatched = denoise_tv_chambolle(noisy, weight=2 * weight, eps=0.0, max_num_iter=2000)
    assert relative_error(ours, mismatched) > 2e-2  # and would catch a factor-2 error in the weight mapping


def test_tv_beats_zero_filled_on_4x_mri(mri_problem: tuple[MaskedFFT, Tensor, Tensor]) -> None:
    op, truth, kspace = mri_problem
    zero_filled = op.baseline(kspace)
    recon = TVRecon(op, lam=0.03, n_iter=100)
    tv = recon(kspace)
    assert tv.shape == truth.shape and not tv.is_complex()
    error_zf, error_tv = relative_error(zero_filled, truth), relative_error(tv.detach(), truth)
    assert error_zf > 0.15 and error_tv < 0.5 * error_zf  # measured: 0.178 -> 0.049
    assert torch.equal(recon(kspace), tv)  # deterministic
    assert json.loads(json.dumps(recon.config())) == {"name": "tv", "lam": 0.03, "n_iter": 100,
                                                      "operator": {"kind": "test-mfft"}}


def test_tv_complex_is_phase_equivariant(mri_problem: tuple[MaskedFFT, Tensor, Tensor]) -> None:
    """Isotropic TV over real and imaginary parts together depends only on |∇x|: a global phase passes through."""
    op, _, kspace = mri_problem
    recon = TVRecon(op, lam=0.03, n_iter=30)
    phase = complex(math.cos(1.0), math.sin(1.0))
    torch.testing.assert_close(recon.solve(kspace * phase), recon.solve(kspace) * phase, rtol=0, atol=1e-5)


def test_tv_step_size_uses_cached_operator_norm(mri_problem: tuple[MaskedFFT, Tensor, Tensor]) -> None:
    op, _, _ = mri_problem
    recon = TVRecon(op, lam=0.1, n_iter=1, image_shape=(64, 64))
    step = recon.step_size((1, 64, 64), torch.device("cpu"))  # ||A|| = 1 for a masked unitary FFT
    assert step == pytest.approx(0.99 / math.sqrt(1.01 ** 2 + 8.0), rel=1e-4)
    assert step * step * (1.0 + 8.0) < 1.0


def test_operator_norm_estimated_once_per_shape() -> None:
    class CountingIdentity(NotIdentity):
        calls = 0

        def forward(self, x: Tensor) -> Tensor:
            CountingIdentity.calls += 1
            return x

    recon = TVRecon(CountingIdentity(), lam=0.1, n_iter=2, image_shape=(8, 8))
    after_construction = CountingIdentity.calls
    assert after_construction > 2  # the power iteration ran
    recon(torch.randn(1, 8, 8))
    recon(torch.randn(1, 8, 8))
    assert CountingIdentity.calls == after_construction + 4  # two unrolled iterations per call, no new estimate
    recon(torch.randn(2, 8, 8))
    assert CountingIdentity.calls > after_construction + 4 + 2  # a new batch shape: a new estimate


# ---------------------------------------------------------------------------------------------- wavelets


def _pywt_soft_denoise(image: np.ndarray, threshold: float, wavelet: str, levels: int, mode: str) -> np.ndarray:
    coeffs = pywt.wavedec2(image, wavelet, mode=mode, level=levels)
    shrunk = [coeffs[0]] + [tuple(pywt.threshold(band, threshold, mode="soft") for band in level)
                            for level in coeffs[1:]]
    return pywt.waverec2(shrunk, wavelet, mode=mode)


@pytest.mark.parametrize("wavelet", ["haar", "db2", "db4"])
def test_wavelet_identity_matches_pywt_periodization(noisy_image: tuple[np.ndarray, float], wavelet: str) -> None:
    noisy, _ = noisy_image
    recon = WaveletRecon(IdentityOperator(), threshold=0.2, wavelet=wavelet, levels=3, mode="periodization")
    ours = recon(torch.from_numpy(noisy)[None])
    reference = _pywt_soft_denoise(noisy, 0.2, wavelet, 3, "periodization")
    np.testing.assert_allclose(ours[0].numpy(), reference, rtol=0, atol=1e-12)
    assert relative_error(noisy, reference) > 0.05


@pytest.mark.parametrize("wavelet", ["haar", "db2", "db4"])
@pytest.mark.parametrize("shape", [(160, 160), (75, 101)])
def test_wavelet_identity_equals_skimage_visushrink_over_the_whole_image(wavelet: str, shape: tuple[int, int]) -> None:
    """skimage: pywt.wavedecn / waverecn with pywt's default "symmetric" boundary, one VisuShrink threshold
    sigma * sqrt(2 ln(H W)) for all detail bands, the approximation kept. The default mode is the same transform."""
    sigma, levels = 0.1, 3
    noisy = phantom(max(shape))[: shape[0], : shape[1]] + sigma * np.random.default_rng(5).standard_normal(shape)
    reference = denoise_wavelet(noisy, sigma=sigma, wavelet=wavelet, mode="soft", method="VisuShrink",
                                wavelet_levels=levels)
    recon = WaveletRecon(IdentityOperator(), threshold=sigma * math.sqrt(2 * math.log(noisy.size)),
                         wavelet=wavelet, levels=levels)
    ours = recon(torch.from_numpy(noisy)[None])[0].numpy()
    np.testing.assert_allclose(ours, reference, rtol=0, atol=1e-12)
    assert relative_error(noisy, reference) > 0.15  # the denoising did something
    periodized = WaveletRecon(IdentityOperator(), recon.threshold, wavelet, levels, mode="periodization")
    if wavelet != "haar":  # the other boundary is a different transform: the comparison can tell them apart
        assert relative_error(periodized(torch.from_numpy(noisy)[None])[0].numpy(), reference) > 0.01


def test_wavelet_fista_on_identity_converges_to_one_shot(noisy_image: tuple[np.ndarray, float]) -> None:
    noisy, _ = noisy_image
    y = torch.from_numpy(noisy)[None]
    one_shot = WaveletRecon(IdentityOperator(), 0.2, "db2", 3, mode="periodization")(y)
    fista = WaveletRecon(NotIdentity(), 0.2, "db2", 3, n_iter=20)(y)  # periodization: an exact prox
    torch.testing.assert_close(fista, one_shot, rtol=0, atol=1e-5)


def test_wavelet_default_mode_is_skimages_for_denoising_and_orthonormal_for_fista() -> None:
    assert WaveletRecon(IdentityOperator(), 0.1).mode == "symmetric"
    assert WaveletRecon(NotIdentity(), 0.1).mode == "periodization"
    assert WaveletRecon(NotIdentity(), 0.1, mode="symmetric").config()["mode"] == "symmetric"


@pytest.mark.parametrize(("wavelet", "mode"), [("haar", "symmetric"), ("db4", "periodization")])
def test_wavelet_fista_on_mri_reaches_its_minimiser(mri_problem: tuple[MaskedFFT, Tensor, Tensor], wavelet: str,
                                                    mode: str) -> None:
    """After the unrolled FISTA the proximal-gradient fixed-point residual is small and the objective dropped
    (an orthonormal DWT: periodization, or haar on 64 x 64, where both modes coincide).

    Measured residual for haar (max |prox(x - s∇f(x)) - x| / max |x|): 1.6e-2 at x0 = A*y, 1.4e-2 after 5
    iterations, 5.5e-4 after 50.
    """
    op, _, kspace = mri_problem
    threshold, step = 0.01, 1.0 / 1.01 ** 2

    def objective(x: Tensor) -> float:
        details = wavedec2(x, wavelet, 4).details
        return float(0.5 * (op(x) - kspace).abs().pow(2).sum() + threshold * sum(d.abs().sum() for d in details))

    recon = WaveletRecon(op, threshold, wavelet, levels=4, n_iter=50, mode=mode)
    x = recon.solve(kspace)
    fixed_point = wavelet_shrink(x - step * op.adjoint(op(x) - kspace), step * threshold, wavelet, 4, mode)
    assert (fixed_point - x).abs().max() < 2e-3 * x.abs().max()
    assert objective(x) < 0.8 * objective(op.adjoint(kspace))
    assert recon.config()["name"] == "wavelet" and recon.config()["mode"] == mode
    json.dumps(recon.config())


def test_wavelet_complex_is_phase_equivariant(mri_problem: tuple[MaskedFFT, Tensor, Tensor]) -> None:
    op, _, kspace = mri_problem
    recon = WaveletRecon(op, 0.05, "db4", 3, n_iter=10)
    phase = complex(math.cos(2.0), math.sin(2.0))
    torch.testing.assert_close(recon.solve(kspace * phase), recon.solve(kspace) * phase, rtol=0, atol=1e-5)


@pytest.mark.parametrize("mode", ["symmetric", "periodization"])
def test_wavelet_shrink_keeps_odd_sizes(mode: str) -> None:
    x = torch.randn(1, 30, 21)
    out = wavelet_shrink(x, 0.0, "db2", 2, mode)  # periodization pads to 32 x 24 and crops back
    assert out.shape == x.shape
    torch.testing.assert_close(out, x, rtol=0, atol=1e-5)


# ---------------------------------------------------------------------------------------------- autograd


@pytest.mark.parametrize("make_recon", [lambda op: TVRecon(op, lam=0.03, n_iter=20),
                                        lambda op: WaveletRecon(op, 0.05, "db4", 3, n_iter=10)],
                         ids=["tv", "wavelet"])
def test_gradients_wrt_measurement(mri_problem: tuple[MaskedFFT, Tensor, Tensor], make_recon) -> None:
    op, _, kspace = mri_problem
    for operator, y in [(op, kspace), (IdentityOperator(), torch.tensor(phantom(64), dtype=torch.float32)[None])]:
        y = y.clone().requires_grad_(True)
        recon = make_recon(operator)
        output = recon(y)
        assert output.shape == (1, 64, 64) and not output.is_complex()
        (grad,) = torch.autograd.grad(output.square().sum(), y)
        assert torch.isfinite(torch.view_as_real(grad) if grad.is_complex() else grad).all()
        assert grad.abs().max() > 0
        torch.testing.assert_close(recon(y), output, rtol=0, atol=0)  # deterministic


def test_invalid_parameters() -> None:
    with pytest.raises(ValueError):
        TVRecon(IdentityOperator(), lam=0.0)
    with pytest.raises(ValueError):
        WaveletRecon(IdentityOperator(), threshold=0.1, wavelet="sym8")
    with pytest.raises(ValueError, match="boundary mode"):
        WaveletRecon(IdentityOperator(), threshold=0.1, mode="zero")
