"""2-D parallel-beam CT with scikit-image's conventions: ``radon(circle=True)`` and ``iradon`` (FBP).

Images are real (B, N, N) attenuation maps in units of 1/pixel; sinograms are (B, n_det, n_angles) line integrals
(attenuation summed over unit-length steps), with n_det = N. The rotation centre is pixel (N // 2, N // 2) and
detector N // 2; pixels outside the inscribed circle of radius N // 2 are ignored, as ``radon(circle=True)`` assumes.

The projector is ray-driven: each detector bin sums N bilinear samples spaced one pixel apart along its ray, exactly
what ``skimage.transform.radon`` computes by rotating the image. Sampling is ``grid_sample`` (bilinear, zero padding)
and the adjoint is its exact transpose, the scatter ``grid_sample`` uses for its own gradient. FBP filters as
``iradon`` does and back-projects each pixel by linear interpolation along the detector. Every sampling step is an
autograd function whose backward is its transpose and vice versa, so all methods are differentiable to any order.
Sample positions are rebuilt per chunk of angles from cos/sin buffers, in forward and backward alike, so neither the
operator nor the autograd graph holds O(N² · angles) tensors.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import partial

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from .base import Operator

FILTER_NAMES = ("ramp", "shepp-logan", "cosine", "hamming", "hann")
ANGLE_KINDS = ("full", "sparse", "limited")
# Bilinear samples materialised at once (B · angles_in_chunk · N · N). Chunks that stay in cache ran forward + FBP
# about twice as fast as one big pass on a 2-core CPU; not much smaller, as each chunk pays thread start-up.
# Temporary memory stays a few MB whatever N.
_CHUNK_SAMPLES = 2 ** 18
_BILINEAR, _ZERO_PADDING = 0, 0  # aten enum values of grid_sample's mode="bilinear", padding_mode="zeros"


def ct_angles(kind: str = "full", n_angles: int = 180, max_angle_deg: float = 180.0) -> np.ndarray:
    """Projection angles in degrees, (n_angles,) float64.

    Parameters
    ----------
    kind : {"full", "sparse", "limited"}
        "full" and "sparse": ``n_angles`` equally spaced in [0, 180) (sparse-view CT is simply a small
        ``n_angles``: 60 gives every third angle of the 180-angle set). "limited": ``n_angles`` equally spaced in
        [0, ``max_angle_deg``).
    n_angles : int
        Number of projections.
    max_angle_deg : float
        Angular range of a limited-angle scan in degrees; ignored by the other kinds.
    """
    if n_angles < 1:
        raise ValueError(f"n_angles must be positive, got {n_angles}")
    if kind in ("full", "sparse"):
        return np.linspace(0.0, 180.0, n_angles, endpoint=False)
    if kind == "limited":
        if not 0.0 < max_angle_deg <= 180.0:
            raise ValueError(f"max_angle_deg must lie in (0, 180], got {max_angle_deg}")
        return np.linspace(0.0, max_angle_deg, n_angles, endpoint=False)
    raise ValueError(f"unknown angle set {kind!r}; expected one of {ANGLE_KINDS}")


GridFactory = Callable[[], Tensor]


class _BilinearSample(torch.autograd.Function):
    """``grid_sample`` (bilinear, zero padding, align_corners=True): linear in the image for a constant grid.

    The grid is passed as a factory and rebuilt in backward, so the autograd graph holds no O(N² · angles) grids.
    """

    @staticmethod
    def forward(ctx, image: Tensor, make_grid: GridFactory) -> Tensor:  # type: ignore[override]
        ctx.make_grid, ctx.image_shape = make_grid, tuple(image.shape)
        return F.grid_sample(image, make_grid(), mode="bilinear", padding_mode="zeros", align_corners=True)

    @staticmethod
    def backward(ctx, grad_samples: Tensor) -> tuple[Tensor, None]:  # type: ignore[override]
        return _BilinearScatter.apply(grad_samples, ctx.make_grid, ctx.image_shape), None


class _BilinearScatter(torch.autograd.Function):
    """The exact transpose of :class:`_BilinearSample`: spreads each sample onto its 4 pixels, same weights."""

    @staticmethod
    def forward(ctx, samples: Tensor, make_grid: GridFactory,  # type: ignore[override]
                image_shape: tuple[int, ...]) -> Tensor:
        ctx.make_grid = make_grid
        # The kernel reads the image only for the grid gradient, which is masked off; zeros just carry the shape.
        placeholder = samples.new_zeros(image_shape)
        image, _ = torch.ops.aten.grid_sampler_2d_backward(
            samples.contiguous(), placeholder, make_grid(), _BILINEAR, _ZERO_PADDING, True, [True, False])
        return image

    @staticmethod
    def backward(ctx, grad_image: Tensor) -> tuple[Tensor, None, None]:  # type: ignore[override]
        return _BilinearSample.apply(grad_image, ctx.make_grid), None, None


def _interpolation_weights(positions: Tensor, width: int) -> tuple[Tensor, Tensor]:
    """Left neighbour (long) and its fraction for linear interpolation at ``positions`` in [0, width − 1]."""
    left = positions.floor().clamp(0, width - 2)  # clamping first keeps the last sample exact
    return left.long(), positions - left


class _LinearInterpolate(torch.autograd.Function):
    """Linear interpolation of rows (B, k, W) at fractional indices (k, M) → (B, k, M), indices inside [0, W − 1]."""

    @staticmethod
    def forward(ctx, rows: Tensor, make_positions: GridFactory) -> Tensor:  # type: ignore[override]
        ctx.make_positions, ctx.width = make_positions, rows.shape[-1]
        left, fraction = _interpolation_weights(make_positions(), ctx.width)
        left = left.expand(rows.shape[0], -1, -1)
        at_left, at_right = torch.gather(rows, 2, left), torch.gather(rows, 2, left + 1)
        return at_left + fraction * (at_right - at_left)

    @staticmethod
    def backward(ctx, grad_samples: Tensor) -> tuple[Tensor, None]:  # type: ignore[override]
        return _LinearSpread.apply(grad_samples, ctx.make_positions, ctx.width), None


class _LinearSpread(torch.autograd.Function):
    """The exact transpose of :class:`_LinearInterpolate`: (B, k, M) → (B, k, W)."""

    @staticmethod
    def forward(ctx, samples: Tensor, make_positions: GridFactory, width: int) -> Tensor:  # type: ignore[override]
        ctx.make_positions = make_positions
        left, fraction = _interpolation_weights(make_positions(), width)
        left = left.expand(samples.shape[0], -1, -1)
        rows = samples.new_zeros((*samples.shape[:2], width))
        rows.scatter_add_(2, left, samples * (1.0 - fraction))
        return rows.scatter_add_(2, left + 1, samples * fraction)

    @staticmethod
    def backward(ctx, grad_rows: Tensor) -> tuple[Tensor, None, None]:  # type: ignore[override]
        return _LinearInterpolate.apply(grad_rows, ctx.make_positions), None, None


def _fourier_filter(size: int, filter_name: str, dtype: torch.dtype, device: torch.device) -> Tensor:
    """skimage's FBP filter for a zero-padded projection of ``size`` (even) bins, as an rfft response (size//2+1,).

    The ramp is the DFT of the band-limited spatial ramp kernel (Kak & Slaney ch. 3 eq. 61), which removes the DC
    bias of a sampled |f|. skimage keeps Re(ifft(fft(p) · H)); for a real p that equals filtering with the
    Hermitian part (H[k] + H[-k]) / 2, which is what we return (it matters only for the slightly asymmetric
    Hamming and Hann windows).
    """
    if filter_name not in FILTER_NAMES:
        raise ValueError(f"unknown filter {filter_name!r}; expected one of {FILTER_NAMES}")
    index = torch.arange(size, dtype=torch.float64)
    distance = torch.minimum(index, size - index)  # circular distance from tap 0
    odd_tap_values = -1.0 / (math.pi * distance.clamp(min=1.0)) ** 2
    kernel = torch.where(distance % 2 == 1, odd_tap_values, torch.zeros_like(index))
    kernel[0] = 0.25
    response = 2.0 * torch.fft.fft(kernel).real
    frequency = torch.fft.fftfreq(size, dtype=torch.float64)  # cycles per bin, in [-0.5, 0.5)
    if filter_name == "shepp-logan":
        omega = math.pi * frequency[1:]
        response[1:] *= torch.sin(omega) / omega
    elif filter_name == "cosine":
        response *= torch.fft.fftshift(torch.sin(torch.linspace(0.0, math.pi, size + 1, dtype=torch.float64)[:-1]))
    elif filter_name in ("hamming", "hann"):
        window = torch.hamming_window if filter_name == "hamming" else torch.hann_window
        response *= torch.fft.fftshift(window(size, periodic=False, dtype=torch.float64))
    hermitian = 0.5 * (response + torch.roll(torch.flip(response, (0,)), 1))
    return hermitian[: size // 2 + 1].to(dtype=dtype, device=device)


class ParallelBeamCT(Operator):
    """Parallel-beam CT: A maps a real image (B, N, N) to a sinogram (B, N, n_angles) as ``radon(circle=True)``.

    Parameters
    ----------
    image_size : int
        N, the side of the square image in pixels (≥ 2); also the number of detector bins.
    angles_deg : sequence of float, optional
        Projection angles in degrees (skimage's ``theta``); default 180 angles equally spaced in [0, 180).
    """

    domain = "sinogram"
    complex_image = False

    def __init__(self, image_size: int, angles_deg: Sequence[float] | None = None) -> None:
        super().__init__()
        if image_size < 2:
            raise ValueError(f"image_size must be at least 2, got {image_size}")
        angles = ct_angles("full") if angles_deg is None else np.asarray(angles_deg, dtype=np.float64).reshape(-1)
        if angles.size == 0:
            raise ValueError("at least one projection angle is required")
        self.image_size = int(image_size)
        self.angles_deg = [float(a) for a in angles]
        radians = torch.from_numpy(np.deg2rad(angles))
        self.register_buffer("_cos", torch.cos(radians), persistent=False)
        self.register_buffer("_sin", torch.sin(radians), persistent=False)
        self.register_buffer("_circle", _circle_mask(self.image_size), persistent=False)
        self.register_buffer("_inside_pixels", torch.nonzero(self._circle.flatten()).flatten(), persistent=False)

    @classmethod
    def from_kind(cls, image_size: int, kind: str = "full", n_angles: int = 180,
                  max_angle_deg: float = 180.0) -> ParallelBeamCT:
        """Build with :func:`ct_angles` (``kind`` is "full", "sparse" or "limited")."""
        return cls(image_size, ct_angles(kind, n_angles, max_angle_deg))

    @property
    def n_angles(self) -> int:
        return len(self.angles_deg)

    def forward(self, x: Tensor) -> Tensor:
        """Sinogram of a real image batch.

        Parameters
        ----------
        x : Tensor
            (B, N, N) real attenuation in 1/pixel (the real part is used if complex).

        Returns
        -------
        Tensor
            (B, N, n_angles) line integrals, dimensionless (attenuation × pixel lengths).
        """
        x = self._check_image(x)
        image = (x * self._circle.to(x.dtype)).unsqueeze(0)  # (1, B, N, N): batch rides on channels
        rows = []
        for start, stop in self._angle_chunks(x.shape[0]):
            make_grid = partial(self._ray_grid, start, stop, x.dtype)  # (1, k·N, N, 2)
            samples = _BilinearSample.apply(image, make_grid)  # (1, B, k·N det, N samples)
            rows.append(samples.sum(dim=-1).unflatten(-1, (stop - start, self.image_size)))
        return torch.cat(rows, dim=2)[0].transpose(1, 2)

    def adjoint(self, y: Tensor) -> Tensor:
        """A* y, the exact transpose of :meth:`forward` (unfiltered ray-driven back-projection).

        Parameters
        ----------
        y : Tensor
            (B, N, n_angles) real sinogram.

        Returns
        -------
        Tensor
            (B, N, N) real image, zero outside the inscribed circle.
        """
        y = self._check_sinogram(y)
        batch, n = y.shape[0], self.image_size
        views = y.transpose(1, 2)  # (B, n_angles, N det)
        image = y.new_zeros((1, batch, n, n))
        for start, stop in self._angle_chunks(batch):
            make_grid = partial(self._ray_grid, start, stop, y.dtype)
            # Each bin's value goes to every sample along its ray (the transpose of summing the samples).
            along_rays = views[:, start:stop, :, None].expand(-1, -1, -1, n).reshape(1, batch, (stop - start) * n, n)
            image = image + _BilinearScatter.apply(along_rays, make_grid, (1, batch, n, n))
        return image[0] * self._circle.to(y.dtype)

    def fbp(self, y: Tensor, filter_name: str = "ramp") -> Tensor:
        """Filtered back-projection, as ``iradon(circle=True, interpolation="linear", output_size=N)``.

        Parameters
        ----------
        y : Tensor
            (B, N, n_angles) real sinogram of line integrals.
        filter_name : {"ramp", "shepp-logan", "cosine", "hamming", "hann"}
            Apodisation of the ramp filter.

        Returns
        -------
        Tensor
            (B, N, N) attenuation in 1/pixel, zero outside the inscribed circle.
        """
        y = self._check_sinogram(y)
        filtered = self._filter_projections(y, filter_name)  # (B, n_angles, padded width)
        return self._backproject_pixels(filtered) * (math.pi / (2 * self.n_angles))

    def baseline(self, y: Tensor) -> Tensor:
        """Ramp-filtered FBP (see :meth:`fbp`)."""
        return self.fbp(y)

    def config(self) -> dict:
        return {"kind": "ct", "image_size": self.image_size, "angles_deg": list(self.angles_deg)}

    # -- geometry -----------------------------------------------------------------------------------------------

    def _angle_chunks(self, batch: int) -> list[tuple[int, int]]:
        per_chunk = max(1, _CHUNK_SAMPLES // (batch * self.image_size ** 2))
        return [(start, min(start + per_chunk, self.n_angles)) for start in range(0, self.n_angles, per_chunk)]

    def _ray_grid(self, start: int, stop: int, dtype: torch.dtype) -> Tensor:
        """grid_sample coordinates (1, k·N, N, 2) of the samples of angles [start, stop): (bin, sample) → (col, row).

        As skimage's radon rotates the image about the centre c and sums the rows, bin d at angle θ samples
        col = c + cos θ (d − c) + sin θ (r − c), row = c − sin θ (d − c) + cos θ (r − c) for r = 0 … N−1.
        """
        n, centre = self.image_size, self.image_size // 2
        offsets = torch.arange(n, dtype=dtype, device=self._cos.device) - centre
        cos = self._cos[start:stop].to(dtype)[:, None, None]
        sin = self._sin[start:stop].to(dtype)[:, None, None]
        bins, steps = offsets[None, :, None], offsets[None, None, :]
        cols = centre + cos * bins + sin * steps
        rows = centre - sin * bins + cos * steps
        grid = torch.stack((cols, rows), dim=-1) * (2.0 / (n - 1)) - 1.0  # align_corners=True normalisation
        return grid.reshape(1, (stop - start) * n, n, 2)

    # -- FBP ----------------------------------------------------------------------------------------------------

    def _padded_sizes(self) -> tuple[int, int, int]:
        """(square width, offset of bin 0 in it, FFT length) of skimage's zero padding of a circle sinogram."""
        n = self.image_size
        square = int(math.ceil(math.sqrt(2) * n))  # the sinogram of the circumscribing square
        offset = square // 2 - n // 2
        fft_size = max(64, int(2 ** math.ceil(math.log2(2 * square))))  # ≥ 2× to avoid circular wrap-around
        return square, offset, fft_size

    def _filter_projections(self, y: Tensor, filter_name: str) -> Tensor:
        """Ramp-filter each projection: (B, N, n_angles) → (B, n_angles, square) on skimage's padded bins."""
        square, offset, fft_size = self._padded_sizes()
        views = F.pad(y.transpose(1, 2), (offset, fft_size - self.image_size - offset))
        response = _fourier_filter(fft_size, filter_name, y.dtype, y.device)
        filtered = torch.fft.irfft(torch.fft.rfft(views, dim=-1) * response, n=fft_size, dim=-1)
        return filtered[..., :square]

    def _backproject_pixels(self, filtered: Tensor) -> Tensor:
        """Pixel-driven linear-interpolation back-projection (unscaled): (B, n_angles, W) → (B, N, N).

        Only pixels inside the circle are computed (the rest are zero, as in skimage).
        """
        batch, _, width = filtered.shape
        n, inside = self.image_size, self._inside_pixels
        recon = filtered.new_zeros((batch, inside.numel()))
        for start, stop in self._angle_chunks(batch):
            make_positions = partial(self._bin_positions, start, stop, width, filtered.dtype)
            recon = recon + _LinearInterpolate.apply(filtered[:, start:stop], make_positions).sum(dim=1)
        image = filtered.new_zeros((batch, n * n)).index_copy(1, inside, recon)
        return image.reshape(batch, n, n)

    def _bin_positions(self, start: int, stop: int, width: int, dtype: torch.dtype) -> Tensor:
        """(k, M) fractional bin indices, in skimage's W padded bins, of the M inside pixels for angles [start, stop).

        skimage's iradon samples projection θ at t = (col − c) cos θ − (row − c) sin θ, bin t + W // 2.
        """
        n, inside = self.image_size, self._inside_pixels
        rows = (inside // n - n // 2).to(dtype)
        cols = (inside % n - n // 2).to(dtype)
        cos = self._cos[start:stop].to(dtype)[:, None]
        sin = self._sin[start:stop].to(dtype)[:, None]
        return cols * cos - rows * sin + width // 2

    # -- validation ---------------------------------------------------------------------------------------------

    def _check_image(self, x: Tensor) -> Tensor:
        n = self.image_size
        if x.dim() != 3 or x.shape[-2:] != (n, n):
            raise ValueError(f"expected an image batch (B, {n}, {n}), got {tuple(x.shape)}")
        return x.real if x.is_complex() else x

    def _check_sinogram(self, y: Tensor) -> Tensor:
        expected = (self.image_size, self.n_angles)
        if y.dim() != 3 or tuple(y.shape[-2:]) != expected:
            raise ValueError(f"expected a sinogram (B, {expected[0]}, {expected[1]}), got {tuple(y.shape)}")
        return y


def _circle_mask(image_size: int) -> Tensor:
    """(N, N) float 1 inside the inscribed circle (distance to pixel N//2 at most N//2), 0 outside, as skimage."""
    offsets = torch.arange(image_size) - image_size // 2
    squared_distance = offsets[:, None] ** 2 + offsets[None, :] ** 2
    return (squared_distance <= (image_size // 2) ** 2).to(torch.float64)
