"""Differentiable in-plane rotation of images and regions, and the grid of angles a rotation search scans.

Convention: a positive angle turns the image counter-clockwise as it is displayed with row 0 at the top (as
``scipy.ndimage.rotate`` and ``np.rot90`` do), about the image centre ((H − 1) / 2, (W − 1) / 2) in pixels, with
square pixels; what comes in from outside the image is 0.

Two interpolations: "bilinear" (``grid_sample``, what most deep-learning code uses) low-passes the image: at any
angle other than a multiple of 90° it removes about half the energy of the outer half of k-space, so a
reconstruction judged against a bilinearly turned object meets an easier, blurred object, and the turn looks
*less* damaging than no turn. "fourier" (three shears by Fourier phase ramps, Unser et al. 1995) keeps every
spatial frequency's magnitude: a sinc interpolation, the natural one for images that come from k-space.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

INTERPOLATIONS = ("fourier", "bilinear")
FOURIER_MAX_DEG = 45.0
"""The Fourier rotation is built for |θ| ≤ 45° (its zero padding keeps the shears from wrapping up to there)."""


def _angles(image: Tensor, angle_deg: Tensor | float) -> tuple[Tensor, Tensor]:
    """The image batch (expanded to N angles when it holds one image) and the angles (B,) in its real dtype."""
    dtype = image.real.dtype if image.is_complex() else image.dtype
    angle = angle_deg.to(dtype) if isinstance(angle_deg, Tensor) else torch.tensor(angle_deg, dtype=dtype)
    angle = angle.to(image.device).reshape(-1)
    if image.shape[0] == 1 and angle.numel() > 1:
        image = image.expand(angle.numel(), -1, -1)
    return image, torch.broadcast_to(angle, image.shape[:1])


def rotate(image: Tensor, angle_deg: Tensor | float, interpolation: str = "fourier") -> Tensor:
    """Rotate images, differentiably in the image and in the angle.

    Parameters
    ----------
    image : Tensor
        (B, H, W), real or complex (real and imaginary parts are turned alike), image units.
    angle_deg : Tensor or float
        Angle(s) in degrees, counter-clockwise as displayed: a scalar, (1,) or (B,). An image batch of one is
        turned by each of N angles when N > 1 (the result is then (N, H, W)).
    interpolation : {"fourier", "bilinear"}
        "fourier": three Fourier shears (|θ| ≤ 45°), every frequency's magnitude kept, ringing at sharp edges.
        "bilinear": ``grid_sample``, as ``scipy.ndimage.rotate(order=1, mode="constant")``; low-passes.

    Returns
    -------
    Tensor
        (B, H, W) (or (N, H, W)), the dtype of ``image``. What leaves the frame is lost; what enters is 0 (bilinear:
        fading to 0 over the last pixel, as ``grid_sample``'s zero padding does).
    """
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"interpolation must be one of {INTERPOLATIONS}, not {interpolation!r}")
    if image.is_complex():
        return torch.complex(rotate(image.real, angle_deg, interpolation),
                             rotate(image.imag, angle_deg, interpolation))
    image, angle = _angles(image, angle_deg)
    if interpolation == "fourier":
        return _fourier_rotate(image, angle)
    return _bilinear_rotate(image, angle)


def _bilinear_rotate(image: Tensor, angle: Tensor) -> Tensor:
    """Real (B, H, W) images turned by (B,) angles (degrees) with ``grid_sample``."""
    batch, height, width = image.shape
    radians = torch.deg2rad(angle)
    cos, sin = torch.cos(radians), torch.sin(radians)
    # grid_sample maps each output pixel to the input point it samples: the inverse turn, written in pixel offsets
    # (column, row) = [[cos, -sin], [sin, cos]] (column, row)_out, then rescaled to the normalised grid [-1, 1]
    # whose units differ along rows and columns when H != W.
    zero = torch.zeros_like(cos)
    theta = torch.stack([torch.stack([cos, -sin * height / width, zero], dim=-1),
                         torch.stack([sin * width / height, cos, zero], dim=-1)], dim=1)
    grid = F.affine_grid(theta, [batch, 1, height, width], align_corners=False)
    turned = F.grid_sample(image.unsqueeze(1), grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return turned[:, 0]


def _shear(image: Tensor, amount: Tensor, dim: int) -> Tensor:
    """Shift every line of real (B, H, W) images along ``dim`` by ``amount`` (B,) times the line's offset from the
    centre (pixels per pixel), by a Fourier phase ramp (a sinc interpolation; periodic, so the caller pads)."""
    other = -1 if dim == -2 else -2
    length, lines = image.shape[dim], image.shape[other]
    frequency = torch.fft.fftfreq(length, dtype=image.dtype, device=image.device)  # cycles per pixel
    offset = torch.arange(lines, dtype=image.dtype, device=image.device) - (lines - 1) / 2
    ramp = frequency[:, None] * offset[None, :] if dim == -2 else offset[:, None] * frequency[None, :]
    phase = -2 * math.pi * amount[:, None, None] * ramp  # a shift by s multiplies the spectrum by exp(-2πi k s)
    spectrum = torch.fft.fft(image, dim=dim) * torch.complex(torch.cos(phase), torch.sin(phase))
    # the real part is the symmetric choice for the (even-length) Nyquist bin, whose shift is otherwise one-sided
    return torch.fft.ifft(spectrum, dim=dim).real


def _fourier_rotate(image: Tensor, angle: Tensor) -> Tensor:
    """Real (B, H, W) images turned by (B,) angles (degrees, |θ| ≤ 45°) as three shears.

    In pixel offsets (column u, row w, w down), the counter-clockwise turn is [[cos, sin], [−sin, cos]] =
    Sx(tan θ/2) · Sy(−sin θ) · Sx(tan θ/2), with Sx(a): u += a w and Sy(b): w += b u. Padding by half the longer
    side on every side keeps the shears' periodic wrap out of the frame up to 45°.
    """
    if bool((angle.detach().abs() > FOURIER_MAX_DEG).any()):
        raise ValueError(f"the Fourier rotation takes angles up to ±{FOURIER_MAX_DEG:g}°")
    height, width = image.shape[-2:]
    pad = (max(height, width) + 1) // 2 + 2
    padded = F.pad(image, (pad, pad, pad, pad))
    radians = torch.deg2rad(angle)
    tangent, sine = torch.tan(radians / 2), torch.sin(radians)
    turned = _shear(_shear(_shear(padded, tangent, -1), -sine, -2), tangent, -1)
    return turned[:, pad:pad + height, pad:pad + width]


def rotated_region(region: Tensor | None, angle_deg: Tensor) -> Tensor | None:
    """The region turned with the object: its bilinear rotation thresholded at 0.5.

    Parameters
    ----------
    region : Tensor or None
        Boolean (H, W) mask, or None (the whole image: stays None).
    angle_deg : Tensor
        (N,) angles in degrees, counter-clockwise as displayed.

    Returns
    -------
    Tensor or None
        Boolean (N, H, W), one mask per angle.
    """
    if region is None:
        return None
    weights = region.to(torch.float32)[None]
    # bilinear: a mask turned by sinc interpolation would ring across the 0.5 threshold
    return rotate(weights, angle_deg.detach().to(torch.float32), "bilinear") > 0.5


def angle_grid(max_angle_deg: float, step_deg: float) -> np.ndarray:
    """Angles (degrees) from −max to +max in steps of ``step_deg``, symmetric about 0 and always holding 0 and ±max.

    When ``max_angle_deg`` is not a whole number of steps, ±max are added beside the last whole steps, so the
    interval's ends are always scanned. Values are rounded to 1e-10 degrees (no 5.000000000000001).
    """
    whole = int(np.floor(max_angle_deg / step_deg + 1e-9))
    half = np.arange(1, whole + 1) * step_deg
    if max_angle_deg - whole * step_deg > 1e-9 * max(1.0, max_angle_deg):
        half = np.append(half, max_angle_deg)
    return np.round(np.concatenate([-half[::-1], [0.0], half]), 10)
