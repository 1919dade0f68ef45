"""Classical (non-learned) reconstructions: the operator's baseline, TV by primal-dual and wavelet FISTA.

Every reconstructor is a ``torch.nn.Module`` built on an :class:`~halluview.core.physics.base.Operator` whose
``forward(y)`` maps a measurement batch to a real image batch (B, H, W) (the magnitude when the operator's image is
complex). The iterations are unrolled a fixed number of times with out-of-place torch operations only, so the output
is differentiable with respect to ``y`` and attacks can back-propagate through it.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor

from ..physics.base import Operator, operator_norm
from ..physics.denoise import IdentityOperator
from .wavelets import MODES, WAVELET_DEC_LO, WaveletCoeffs, crop_to, reflect_pad_to_multiple, wavedec2, waverec2

# Power iteration under-estimates ||A||; inflate it slightly so the step-size conditions hold strictly.
_NORM_SAFETY = 1.01


def magnitude(x: Tensor) -> Tensor:
    """|x| for a complex image, x itself for a real one: (B, H, W) -> real (B, H, W)."""
    return torch.abs(x) if x.is_complex() else x


def image_gradient(x: Tensor) -> Tensor:
    """Forward differences with Neumann boundary: (B, H, W) -> (B, 2, H, W), the last row / column difference 0.

    Channel 0 differentiates along H (x[i+1, j] - x[i, j]), channel 1 along W.
    """
    zero_row = torch.zeros_like(x[..., :1, :])
    zero_col = torch.zeros_like(x[..., :, :1])
    grad_h = torch.cat([x[..., 1:, :] - x[..., :-1, :], zero_row], dim=-2)
    grad_w = torch.cat([x[..., :, 1:] - x[..., :, :-1], zero_col], dim=-1)
    return torch.stack([grad_h, grad_w], dim=-3)


def image_gradient_adjoint(p: Tensor) -> Tensor:
    """Adjoint of :func:`image_gradient` (minus the divergence): (B, 2, H, W) -> (B, H, W)."""
    p_h = p[..., 0, :-1, :]
    p_w = p[..., 1, :, :-1]
    zero_row = torch.zeros_like(p[..., 0, :1, :])
    zero_col = torch.zeros_like(p[..., 1, :, :1])
    adjoint_h = torch.cat([zero_row, p_h], dim=-2) - torch.cat([p_h, zero_row], dim=-2)
    adjoint_w = torch.cat([zero_col, p_w], dim=-1) - torch.cat([p_w, zero_col], dim=-1)
    return adjoint_h + adjoint_w


def project_pointwise_l2_ball(p: Tensor, radius: float) -> Tensor:
    """Project each pixel's gradient vector p[..., :, i, j] (real and imaginary parts together) onto ||.|| <= radius."""
    pixel_norm = torch.linalg.vector_norm(p, dim=-3, keepdim=True)
    return p / torch.clamp(pixel_norm / radius, min=1.0)


def soft_threshold(z: Tensor, threshold: float | Tensor) -> Tensor:
    """Soft-thresholding, the prox of threshold * ||z||_1.

    Real z: sign(z) * max(|z| - t, 0). Complex z: the modulus is shrunk and the phase kept,
    z * max(|z| - t, 0) / |z| (the prox of the l1 norm of complex moduli), and 0 where z = 0.
    """
    if not z.is_complex():
        return torch.sign(z) * torch.relu(torch.abs(z) - threshold)
    modulus = torch.abs(z)
    # where() instead of a clamped division keeps the gradient at z = 0 exactly zero instead of 0 * inf = nan.
    safe_modulus = torch.where(modulus > 0, modulus, torch.ones_like(modulus))
    return z * (torch.relu(modulus - threshold) / safe_modulus)


def wavelet_shrink(x: Tensor, threshold: float, wavelet: str, levels: int, mode: str = "symmetric") -> Tensor:
    """Soft-threshold the detail coefficients of a 2-D DWT, keep the approximation, and reconstruct.

    ``mode="symmetric"`` (pywt's default boundary) is exactly what ``skimage.restoration.denoise_wavelet`` does
    with one threshold for all detail bands (``mode="soft"``, ``wavelet_levels=levels``; VisuShrink's threshold is
    σ·sqrt(2 ln(H W))), for any image size. ``mode="periodization"`` uses the orthonormal DWT: the result is then
    the exact prox of ``threshold * ||W_detail x||_1`` when H and W are divisible by 2**levels (other sizes are
    reflect-padded to the next multiple and cropped back, an approximate prox). For "haar" on sizes divisible by
    2**levels the two modes coincide.

    Parameters
    ----------
    x : Tensor
        Image batch (B, H, W), real or complex (complex coefficients: their modulus is thresholded).
    threshold : float
        Threshold in image intensity units (coefficient units = pixel units: the filters have unit norm).
    wavelet, levels, mode
        See :func:`~halluview.core.recon.wavelets.wavedec2`.
    """
    if mode == "periodization":
        padded, size = reflect_pad_to_multiple(x, 2 ** levels)
    else:
        padded, size = x, (x.shape[-2], x.shape[-1])
    coeffs = wavedec2(padded, wavelet, levels, mode)
    shrunk = WaveletCoeffs(coeffs.approx, [soft_threshold(detail, threshold) for detail in coeffs.details])
    return crop_to(waverec2(shrunk, wavelet, mode), size)


class _OperatorNormCache:
    """||A|| per image-batch shape, estimated once by power iteration (the operator is assumed not to change)."""

    def __init__(self, op: Operator) -> None:
        self._op = op
        self._norms: dict[tuple[int, ...], float] = {}

    def get(self, shape: tuple[int, ...], device: torch.device) -> float:
        key = tuple(shape)
        if key not in self._norms:
            self._norms[key] = _NORM_SAFETY * operator_norm(self._op, key, device=device)
        return self._norms[key]

    def clear(self) -> None:
        self._norms.clear()


class BaselineRecon(torch.nn.Module):
    """f(y) = op.baseline(y): zero-filled for MRI, FBP for CT, the identity for denoising."""

    def __init__(self, op: Operator) -> None:
        super().__init__()
        self.op = op

    def forward(self, y: Tensor) -> Tensor:
        """Measurement batch -> real image batch (B, H, W)."""
        return self.op.baseline(y)

    def config(self) -> dict:
        """JSON-serialisable settings."""
        return {"name": "baseline", "operator": self.op.config()}


class TVRecon(torch.nn.Module):
    r"""Total-variation regularised least squares by unrolled Chambolle–Pock.

    Solves :math:`\min_x \tfrac12\|Ax - y\|_2^2 + \lambda \sum_{ij} |\nabla x|_{ij}` with isotropic TV
    (forward differences, Neumann boundary: the difference leaving the image is 0;
    :math:`|\nabla x|_{ij} = \sqrt{|\partial_h x_{ij}|^2 + |\partial_w x_{ij}|^2}`, real and imaginary parts
    together for complex images, whose iterate stays complex). Primal-dual with :math:`K = [A; \nabla]`,
    :math:`G = 0`, step sizes :math:`\sigma = \tau = 0.99 / \sqrt{\|A\|^2 + 8}` (:math:`\|\nabla\|^2 \le 8`, so
    :math:`\sigma\tau\|K\|^2 < 1`), primal start :math:`x_0 = A^*y`, dual start 0, ``n_iter`` iterations.

    For :class:`~halluview.core.physics.denoise.IdentityOperator` the objective is exactly the one minimised by
    ``skimage.restoration.denoise_tv_chambolle(image, weight=lam)`` (Chambolle's 2004 projection algorithm on
    :math:`\tfrac12\|u - f\|^2 + \text{weight}\cdot TV(u)` with the same differences and boundary): ``lam = weight``.
    skimage's stopping rule (``eps``) is relative to the energy; pass ``eps=0`` and a large ``max_num_iter`` to
    compare converged solutions.

    Parameters
    ----------
    op : Operator
        Forward operator A.
    lam : float
        TV weight λ in the image's intensity units (> 0).
    n_iter : int
        Unrolled primal-dual iterations.
    image_shape : tuple of int, optional
        (H, W) or (B, H, W): estimate ||A|| at construction instead of at the first call. ||A|| is cached per
        image-batch shape; call :meth:`reset_operator_norm` if the operator's state (mask, coil maps) changes.
    """

    def __init__(self, op: Operator, lam: float, n_iter: int = 100, image_shape: tuple[int, ...] | None = None) -> None:
        super().__init__()
        if lam <= 0 or n_iter < 1:
            raise ValueError("lam must be > 0 and n_iter >= 1")
        self.op = op
        self.lam = float(lam)
        self.n_iter = int(n_iter)
        self._norms = _OperatorNormCache(op)
        if image_shape is not None:
            shape = tuple(image_shape) if len(image_shape) == 3 else (1, *image_shape)
            self._norms.get(shape, torch.device("cpu"))

    def step_size(self, image_shape: tuple[int, ...], device: torch.device) -> float:
        """σ = τ = 0.99 / sqrt(||A||² + 8) for an image batch of ``image_shape`` (B, H, W)."""
        return 0.99 / math.sqrt(self._norms.get(image_shape, device) ** 2 + 8.0)

    def reset_operator_norm(self) -> None:
        """Forget the cached ||A|| estimates (after the operator changed)."""
        self._norms.clear()

    def forward(self, y: Tensor) -> Tensor:
        """Measurement batch -> real image batch (B, H, W) (magnitude for complex images)."""
        return magnitude(self.solve(y))

    def solve(self, y: Tensor) -> Tensor:
        """The unrolled primal iterate x_N itself, complex when the operator's image is complex."""
        x = self.op.adjoint(y)
        step = self.step_size(tuple(x.shape), x.device)
        x_bar = x
        dual_data = torch.zeros_like(y)
        dual_grad = torch.zeros_like(image_gradient(x))
        for _ in range(self.n_iter):
            # prox of σF1*, F1 = ½||· - y||²:  (v - σy) / (1 + σ)
            dual_data = (dual_data + step * (self.op(x_bar) - y)) / (1.0 + step)
            # prox of σF2*, F2 = λ||·||_{2,1}: projection onto the λ-ball pixel by pixel
            dual_grad = project_pointwise_l2_ball(dual_grad + step * image_gradient(x_bar), self.lam)
            x_next = x - step * (self.op.adjoint(dual_data) + image_gradient_adjoint(dual_grad))
            x_bar = 2.0 * x_next - x
            x = x_next
        return x

    def config(self) -> dict:
        """JSON-serialisable settings."""
        return {"name": "tv", "lam": self.lam, "n_iter": self.n_iter, "operator": self.op.config()}


class WaveletRecon(torch.nn.Module):
    r"""Wavelet-sparsity reconstruction: soft-thresholding of DWT detail coefficients (:func:`wavelet_shrink`).

    * :class:`~halluview.core.physics.denoise.IdentityOperator` (denoising): one shrinkage,
      :math:`x = W^+ \text{soft}(W y, t)`, by default with pywt's "symmetric" boundary. This is exactly
      ``skimage.restoration.denoise_wavelet(y, sigma=s, wavelet=..., mode="soft", method="VisuShrink",
      wavelet_levels=levels)`` for ``threshold = s * sqrt(2 * ln(H * W))``, over the whole image and for any size.
    * Other operators: ``n_iter`` unrolled FISTA iterations from :math:`x_0 = A^*y`, step :math:`1/\|A\|^2`
      (``||A||`` by power iteration, cached per image shape), each followed by the shrinkage at step * t, by
      default with the orthonormal "periodization" DWT, whose shrinkage is the exact prox: the iterations minimise
      :math:`\tfrac12\|Ax - y\|_2^2 + t\,\|W_d x\|_1` (:math:`W_d`: the detail coefficients; the approximation
      is not penalised). The symmetric DWT is a frame, not a basis: its shrinkage is no prox, and FISTA with it
      settles on a step-dependent point (for "haar" on sizes divisible by 2**levels both modes coincide).

    Complex images: the complex detail coefficients' moduli are thresholded (phase kept), see :func:`soft_threshold`.

    Parameters
    ----------
    op : Operator
        Forward operator A.
    threshold : float
        t, in image intensity units (>= 0).
    wavelet : str
        "haar", "db2" or "db4".
    levels : int
        Decomposition levels.
    n_iter : int
        FISTA iterations (ignored for the identity operator).
    mode : str, optional
        DWT boundary, "symmetric" or "periodization"; None: symmetric for the identity operator (skimage's
        denoiser), periodization otherwise (an exact prox).
    """

    def __init__(self, op: Operator, threshold: float, wavelet: str = "db4", levels: int = 3, n_iter: int = 50,
                 mode: str | None = None) -> None:
        super().__init__()
        if mode is None:
            mode = "symmetric" if isinstance(op, IdentityOperator) else "periodization"
        if threshold < 0 or levels < 1 or n_iter < 1 or wavelet not in WAVELET_DEC_LO or mode not in MODES:
            raise ValueError(f"need threshold >= 0, levels >= 1, n_iter >= 1, a known wavelet "
                             f"({', '.join(WAVELET_DEC_LO)}) and a boundary mode in {', '.join(MODES)}")
        self.op = op
        self.threshold = float(threshold)
        self.wavelet = wavelet
        self.levels = int(levels)
        self.n_iter = int(n_iter)
        self.mode = mode
        self._norms = _OperatorNormCache(op)

    def reset_operator_norm(self) -> None:
        """Forget the cached ||A|| estimates (after the operator changed)."""
        self._norms.clear()

    def forward(self, y: Tensor) -> Tensor:
        """Measurement batch -> real image batch (B, H, W) (magnitude for complex images)."""
        return magnitude(self.solve(y))

    def _prox(self, x: Tensor, threshold: float) -> Tensor:
        return wavelet_shrink(x, threshold, self.wavelet, self.levels, self.mode)

    def solve(self, y: Tensor) -> Tensor:
        """The (unrolled) solution itself, complex when the operator's image is complex."""
        x = self.op.adjoint(y)
        if isinstance(self.op, IdentityOperator):
            return self._prox(x, self.threshold)
        step = 1.0 / self._norms.get(tuple(x.shape), x.device) ** 2
        x_prev, z, momentum = x, x, 1.0
        for _ in range(self.n_iter):
            x = self._prox(z - step * self.op.adjoint(self.op(z) - y), step * self.threshold)
            momentum_next = (1.0 + math.sqrt(1.0 + 4.0 * momentum ** 2)) / 2.0
            z = x + ((momentum - 1.0) / momentum_next) * (x - x_prev)
            x_prev, momentum = x, momentum_next
        return x

    def config(self) -> dict:
        """JSON-serialisable settings."""
        return {"name": "wavelet", "threshold": self.threshold, "wavelet": self.wavelet, "levels": self.levels,
                "n_iter": self.n_iter, "mode": self.mode, "operator": self.op.config()}
