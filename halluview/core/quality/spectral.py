"""Does a change look like noise or like structure? The share of its energy at high spatial frequencies.

With the centred 2-D DFT of the change and the radial frequency ρ = sqrt(f_row² + f_col²) in cycles per pixel
(Nyquist 0.5), the high-frequency share is Σ_{ρ > 0.25} |F|² / Σ |F|²: the energy above half the Nyquist radius.
White noise puts 1 − π/16 ≈ 0.80 of its energy there (the area of the square outside the disc of radius 0.25);
a smooth, blob-like structure almost none.
"""
from __future__ import annotations

import numpy as np

HIGH_FREQUENCY_CUTOFF = 0.25
"""cycles / pixel: half the Nyquist radius."""
RADIAL_BINS = 16


def _power_and_radius(change: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    power = np.abs(np.fft.fft2(np.asarray(change, dtype=np.float64))) ** 2
    rows, cols = (np.fft.fftfreq(n) for n in power.shape)
    radius = np.sqrt(rows[:, None] ** 2 + cols[None, :] ** 2)
    return power, radius


def high_frequency_share(change: np.ndarray) -> float:
    """Share of ``change``'s energy above :data:`HIGH_FREQUENCY_CUTOFF`; NaN for a zero change."""
    power, radius = _power_and_radius(change)
    total = power.sum()
    return float(power[radius > HIGH_FREQUENCY_CUTOFF].sum() / total) if total > 0 else float("nan")


def radial_power(change: np.ndarray, bins: int = RADIAL_BINS) -> dict:
    """Radially averaged power spectrum: {"frequency" (bin centres, cycles / pixel, up to Nyquist 0.5), "power"
    (mean |F|² per bin, squared image units × pixels)}."""
    power, radius = _power_and_radius(change)
    edges = np.linspace(0.0, 0.5, bins + 1)
    index = np.clip(np.digitize(radius.ravel(), edges) - 1, 0, bins - 1)
    keep = radius.ravel() <= 0.5
    sums = np.bincount(index[keep], weights=power.ravel()[keep], minlength=bins)
    counts = np.bincount(index[keep], minlength=bins)
    return {"frequency": ((edges[:-1] + edges[1:]) / 2).tolist(),
            "power": (sums / np.maximum(counts, 1)).tolist()}
