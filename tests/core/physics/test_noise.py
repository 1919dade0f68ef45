"""Noise models: statistics against theory, seeding, and the config round trip."""
from __future__ import annotations

import math

import pytest
import torch

from halluview.core.physics.noise import GaussianNoise, NoNoise, PoissonImageNoise, PoissonTransmissionNoise, make_noise

SAMPLES = 200_000


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


ALL_MODELS = [GaussianNoise(0.1), GaussianNoise(0.05, relative=True), PoissonTransmissionNoise(1e4, 0.5),
              PoissonImageNoise(50.0)]


@pytest.mark.parametrize("model", ALL_MODELS, ids=lambda m: m.config()["kind"])
def test_same_seed_same_noise(model) -> None:
    y = torch.rand(2, 16, 12)
    first, again, other = model(y, seeded(7)), model(y, seeded(7)), model(y, seeded(8))
    torch.testing.assert_close(first, again, rtol=0, atol=0)
    assert not torch.equal(first, other)
    assert first.shape == y.shape and first.dtype == y.dtype


@pytest.mark.parametrize("model", ALL_MODELS + [NoNoise()], ids=lambda m: m.config()["kind"])
def test_config_round_trip(model) -> None:
    rebuilt = make_noise(model.config())
    assert type(rebuilt) is type(model) and rebuilt.config() == model.config()


def test_make_noise_none_and_unknown() -> None:
    y = torch.rand(1, 4, 4)
    assert make_noise(None)(y, seeded()) is y
    with pytest.raises(ValueError, match="unknown noise kind"):
        make_noise({"kind": "speckle"})


def test_gaussian_std() -> None:
    y = torch.full((1, SAMPLES), 3.0, dtype=torch.float64)
    noise = GaussianNoise(0.2)(y, seeded()) - y
    assert abs(float(noise.mean())) < 0.01 * 0.2
    assert float(noise.std()) == pytest.approx(0.2, rel=0.02)


def test_relative_gaussian_scales_with_each_items_rms() -> None:
    y = torch.stack([torch.full((SAMPLES,), 2.0), torch.full((SAMPLES,), -10.0)]).double()
    noise = GaussianNoise(0.05, relative=True)(y, seeded()) - y
    assert float(noise[0].std()) == pytest.approx(0.05 * 2.0, rel=0.02)
    assert float(noise[1].std()) == pytest.approx(0.05 * 10.0, rel=0.02)


def test_complex_gaussian_power() -> None:
    y = torch.zeros(1, SAMPLES, dtype=torch.complex128)
    noise = GaussianNoise(0.3)(y, seeded())
    assert float(noise.real.std()) == pytest.approx(0.3 / math.sqrt(2), rel=0.02)
    assert float(noise.imag.std()) == pytest.approx(0.3 / math.sqrt(2), rel=0.02)


def test_gaussian_keeps_gradient_to_the_signal() -> None:
    y = torch.rand(1, 8, 8, requires_grad=True)
    (grad,) = torch.autograd.grad(GaussianNoise(0.1, relative=True)(y, seeded()).sum(), y)
    torch.testing.assert_close(grad, torch.ones_like(grad))


@pytest.mark.parametrize("line_integral, mu_scale", [(0.5, 1.0), (2.0, 1.0), (4.0, 0.5)])
def test_transmission_variance_matches_photon_statistics(line_integral: float, mu_scale: float) -> None:
    flux = 1e4
    y = torch.full((1, SAMPLES), line_integral, dtype=torch.float32)
    noisy = PoissonTransmissionNoise(flux, mu_scale)(y, seeded()).double()
    expected_counts = flux * math.exp(-mu_scale * line_integral)
    assert float(noisy.var()) == pytest.approx(1.0 / (expected_counts * mu_scale ** 2), rel=0.03)
    assert float(noisy.mean()) == pytest.approx(line_integral, abs=0.01 * line_integral)


def test_transmission_zero_counts_read_as_one_count() -> None:
    flux = 100.0
    y = torch.full((1, 1000), 50.0)  # exp(-50) · 100 photons: always zero counts
    noisy = PoissonTransmissionNoise(flux, mu_scale=1.0)(y, seeded())
    torch.testing.assert_close(noisy, torch.full_like(y, math.log(flux)))


def test_image_poisson_mean_and_variance() -> None:
    peak, level = 40.0, 0.6
    y = torch.full((1, SAMPLES), level, dtype=torch.float64)
    noisy = PoissonImageNoise(peak)(y, seeded())
    assert float(noisy.mean()) == pytest.approx(level, rel=0.01)
    assert float(noisy.var()) == pytest.approx(level / peak, rel=0.03)
    assert torch.all(PoissonImageNoise(peak)(-y, seeded()) == 0)  # negative rates are clamped to zero
