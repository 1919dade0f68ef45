"""The high-frequency share tells noise (≈ 1 − π/16 of the energy above half Nyquist) from a smooth structure."""
import math

import numpy as np
import pytest

from halluview.core.quality import high_frequency_share, radial_power


def test_white_noise_and_a_smooth_blob():
    rng = np.random.default_rng(1)
    noise = rng.standard_normal((64, 64))
    assert high_frequency_share(noise) == pytest.approx(1 - math.pi / 16, abs=0.03)
    yy, xx = np.mgrid[0:64, 0:64]
    blob = np.exp(-((xx - 30) ** 2 + (yy - 34) ** 2) / (2 * 4.0 ** 2))
    assert high_frequency_share(blob) < 1e-3
    assert math.isnan(high_frequency_share(np.zeros((8, 8))))


def test_a_single_frequency_lands_in_its_bin():
    cols = np.arange(64)
    wave = np.cos(2 * np.pi * 0.375 * cols)[None, :].repeat(64, axis=0)  # 0.375 cycles / px: above the cutoff
    assert high_frequency_share(wave) == pytest.approx(1.0)
    spectrum = radial_power(wave)
    assert spectrum["frequency"][int(np.argmax(spectrum["power"]))] == pytest.approx(0.375, abs=1 / 32)
