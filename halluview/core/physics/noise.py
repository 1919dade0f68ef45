"""Seeded measurement-noise models for CT sinograms and image-domain denoising.

Every model is called as ``noise(y, generator)`` on a batch ``y`` (B, …) and returns a noisy copy with the same
shape, dtype and device. Draws come only from ``generator``, so the same seed gives the same noise. A CPU generator
works for tensors on any device (the noise is drawn on the generator's device and moved), which keeps results
identical across devices.
"""
from __future__ import annotations

import math
from typing import Protocol

import torch
from torch import Tensor


class NoiseModel(Protocol):
    """What every noise model offers."""

    def __call__(self, y: Tensor, generator: torch.Generator) -> Tensor: ...

    def config(self) -> dict: ...


class NoNoise:
    """Noise-free measurement: returns ``y`` unchanged."""

    def __call__(self, y: Tensor, generator: torch.Generator) -> Tensor:
        return y

    def config(self) -> dict:
        return {"kind": "none"}


class GaussianNoise:
    """Additive white Gaussian noise.

    Parameters
    ----------
    sigma : float
        Standard deviation, in the units of ``y``; with ``relative`` a fraction of the RMS of each batch item.
    relative : bool
        Scale ``sigma`` by the root-mean-square of each item ``y[b]`` (so 0.01 is 1 % noise whatever the units).

    Notes
    -----
    Complex ``y`` (k-space) gets circular complex noise with E|n|² = σ², i.e. σ/√2 per real and imaginary part.
    The result is differentiable in ``y`` (the noise is a constant offset).
    """

    def __init__(self, sigma: float, relative: bool = False) -> None:
        if sigma < 0:
            raise ValueError(f"sigma must be non-negative, got {sigma}")
        self.sigma = float(sigma)
        self.relative = bool(relative)

    def __call__(self, y: Tensor, generator: torch.Generator) -> Tensor:
        std = self._std(y)
        if y.is_complex():
            parts = _standard_normal((2, *y.shape), y.real.dtype, generator).to(y.device)
            return y + torch.complex(parts[0], parts[1]) * (std / math.sqrt(2.0))
        return y + _standard_normal(y.shape, y.dtype, generator).to(y.device) * std

    def _std(self, y: Tensor) -> Tensor | float:
        """σ as a float, or (B, 1, …) tensor for relative noise; detached so the noise does not carry gradient."""
        if not self.relative:
            return self.sigma
        per_item = y.detach().abs().square().flatten(1).mean(dim=1).sqrt()
        return self.sigma * per_item.reshape((-1,) + (1,) * (y.dim() - 1))

    def config(self) -> dict:
        return {"kind": "gaussian", "sigma": self.sigma, "relative": self.relative}


# Optical depth of one pixel of water in the simulation's CT units (attenuation relative to water, 1 per pixel):
# water attenuates 0.19 / cm at ~70 keV, and 128 pixels across a ~30 cm field of view are 0.234 cm each.
WATER_PIXEL_OPTICAL_DEPTH = 0.045


class PoissonTransmissionNoise:
    """Low-dose CT: photon counting noise on a sinogram of line integrals.

    The detector counts ``n ~ Poisson(I0 · exp(−mu_scale · y))`` photons and the measurement is converted back to
    line integrals, ``−log(max(n, 1) / I0) / mu_scale``. Zero counts (photon starvation) are read as one count,
    which caps the line integral at ``log(I0) / mu_scale``, the usual clinical pre-log correction. For moderate
    attenuation the variance is ≈ 1 / (I0 · exp(−mu_scale · y)) / mu_scale².

    Parameters
    ----------
    incident_flux : float
        I0, unattenuated photons per detector bin per view (≈ 1e4 low dose, ≈ 1e6 near noise-free).
    mu_scale : float
        Converts ``y`` (attenuation × length in the units of the sinogram, e.g. 1/pixel × pixel) into optical depth;
        e.g. the pixel size in cm when the image holds μ in 1/cm. The default, :data:`WATER_PIXEL_OPTICAL_DEPTH`,
        suits the simulation's CT units at 128 pixels across a body.

    Notes
    -----
    The output is a random draw, not differentiable in ``y``; it is detached.
    """

    def __init__(self, incident_flux: float, mu_scale: float = WATER_PIXEL_OPTICAL_DEPTH) -> None:
        if incident_flux <= 0 or mu_scale <= 0:
            raise ValueError(f"incident_flux and mu_scale must be positive, got {incident_flux}, {mu_scale}")
        self.incident_flux = float(incident_flux)
        self.mu_scale = float(mu_scale)

    def __call__(self, y: Tensor, generator: torch.Generator) -> Tensor:
        # float64 keeps large counts exact and the log precise; rates on the generator's device for reproducibility.
        optical_depth = y.detach().to(device=generator.device, dtype=torch.float64) * self.mu_scale
        counts = torch.poisson(self.incident_flux * torch.exp(-optical_depth), generator=generator)
        line_integrals = -torch.log(counts.clamp(min=1.0) / self.incident_flux) / self.mu_scale
        return line_integrals.to(device=y.device, dtype=y.dtype)

    def config(self) -> dict:
        return {"kind": "poisson_transmission", "incident_flux": self.incident_flux, "mu_scale": self.mu_scale}


class PoissonImageNoise:
    """Image-domain shot noise for denoising: ``Poisson(peak · x) / peak``.

    Parameters
    ----------
    peak : float
        Photon count of an image value of 1; the variance of a pixel of value x is x / peak.

    Notes
    -----
    Negative values are treated as 0 (a Poisson rate cannot be negative). Not differentiable; the output is detached.
    """

    def __init__(self, peak: float) -> None:
        if peak <= 0:
            raise ValueError(f"peak must be positive, got {peak}")
        self.peak = float(peak)

    def __call__(self, y: Tensor, generator: torch.Generator) -> Tensor:
        rates = y.detach().to(device=generator.device, dtype=torch.float64).clamp(min=0.0) * self.peak
        counts = torch.poisson(rates, generator=generator)
        return (counts / self.peak).to(device=y.device, dtype=y.dtype)

    def config(self) -> dict:
        return {"kind": "poisson_image", "peak": self.peak}


_MODELS = {
    "none": NoNoise,
    "gaussian": GaussianNoise,
    "poisson_transmission": PoissonTransmissionNoise,
    "poisson_image": PoissonImageNoise,
}


def make_noise(config: dict | None) -> NoiseModel:
    """Build a noise model from its ``config()`` dict; ``None`` (or kind "none") gives :class:`NoNoise`.

    Examples
    --------
    >>> make_noise({"kind": "gaussian", "sigma": 0.01, "relative": True}).config()["sigma"]
    0.01
    """
    if config is None:
        return NoNoise()
    settings = dict(config)
    kind = settings.pop("kind", None)
    if kind not in _MODELS:
        raise ValueError(f"unknown noise kind {kind!r}; expected one of {sorted(_MODELS)}")
    return _MODELS[kind](**settings)


def _standard_normal(shape: tuple[int, ...] | torch.Size, dtype: torch.dtype, generator: torch.Generator) -> Tensor:
    return torch.randn(tuple(shape), generator=generator, dtype=dtype, device=generator.device)


def noisy_measurement(op, y: Tensor, noise: NoiseModel | dict | None, generator: torch.Generator) -> Tensor:
    """``y`` with a draw of ``noise`` (a model or its config), kept to the entries ``op`` measures (noise in an
    unacquired k-space line would be a sample that was never taken)."""
    model = make_noise(noise) if noise is None or isinstance(noise, dict) else noise
    noisy = model(y, generator)
    mask = op.measurement_mask(noisy)
    return noisy if mask is None else noisy * mask
