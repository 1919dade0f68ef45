"""The diffusion reconstruction: DDIM with data consistency recovers the image when the prior is exact, is a
deterministic function of its seed, batch-invariant, and its checkpointed gradient is the plain one."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from halluview.core.physics.mri import build_mri_operator
from halluview.core.recon import diffusion
from halluview.core.recon.diffusion import DiffusionRecon, centre_phase, sampling_timesteps
from halluview.core.recon.diffusion_train import denoising_loss, train_prior
from halluview.core.recon.score_net import ScoreNet, cosine_alpha_bar

SIZE = 32


class OracleNet(nn.Module):
    """ε_θ that knows the clean image x₀ (in the prior's [−1, 1] units): the exact noise of x_t."""

    options = {"arch": "oracle"}

    def __init__(self, x0: torch.Tensor):
        super().__init__()
        self.x0, self.alpha_bar = x0, cosine_alpha_bar().float()

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        alpha = self.alpha_bar[t][:, None, None, None]
        return (x - torch.sqrt(alpha) * self.x0[:, None]) / torch.sqrt(1 - alpha)


class ZeroNet(OracleNet):
    def forward(self, x, t):
        return torch.zeros_like(x)


def blob(size: int = SIZE) -> torch.Tensor:
    """A smooth image whose k-space lies in the fully sampled centre: zero-filled gives it exactly, so its maximum
    is the sampler's scale and the oracle's x₀ is inside [−1, 1]."""
    grid = torch.arange(size, dtype=torch.float32) - size / 2
    rows, cols = torch.meshgrid(grid, grid, indexing="ij")
    image = torch.exp(-(rows ** 2 + (cols - 3) ** 2) / 40.0) + 0.5 * torch.exp(-((rows + 6) ** 2 + cols ** 2) / 30.0)
    return image[None]


@pytest.fixture(scope="module")
def op():
    return build_mri_operator((SIZE, SIZE), 4.0, 0.08, "random", 1, 0)


@pytest.mark.parametrize("eta", [0.0, 0.5])
def test_an_exact_prior_recovers_the_image_and_a_blind_one_does_not(op, eta):
    from halluview.core.physics.mri import fft2c

    x = blob() * (0.8 + 0.2 * torch.rand(1, SIZE, SIZE, generator=torch.Generator().manual_seed(0)))  # fine detail
    y = op(x)
    scale = diffusion.HEADROOM * op.baseline(y).amax()
    x0 = 2 * x / scale - 1
    assert float(x0.max()) <= 1  # the oracle's image is inside the clipping range
    with torch.no_grad():
        exact = DiffusionRecon(op, OracleNet(x0), sampling_steps=5, eta=eta)(y)
        blind = DiffusionRecon(op, ZeroNet(x0), sampling_steps=5, eta=eta)(y)
    assert float((exact - x).abs().max()) < 1e-4 * float(x.max())
    assert float((blind - x).abs().max()) > 0.05 * float(x.max())
    unmeasured = ~op.mask.reshape(-1)
    assert float(fft2c(x)[..., unmeasured].abs().sum()) > 1.0  # the unmeasured part is not empty


def test_sampler_output_keeps_the_measured_samples(op):
    """The last data-consistency step makes A u' = y on every acquired sample (single coil: a projection)."""
    x = torch.rand(1, SIZE, SIZE)
    y = op(x)
    recon = DiffusionRecon(op, ScoreNet(chans=8, mults=(1, 2)), sampling_steps=2)
    captured = {}
    step = recon._step

    def spy(*args):
        result = step(*args)
        captured["image"] = result[1]
        return result

    recon._step = spy
    with torch.no_grad():
        recon(y)
    assert torch.allclose(op(captured["image"]), y, atol=1e-5)


def test_seed_determines_the_sample_and_batches_do_not_mix(op):
    torch.manual_seed(0)
    recon = DiffusionRecon(op, ScoreNet(chans=8, mults=(1, 2)), sampling_steps=3, eta=1.0)
    x = torch.rand(2, SIZE, SIZE)
    y = op(x)
    with torch.no_grad():
        first, again, other = recon(y), recon(y), recon.with_seed(7)(y)
        alone = recon(y[1:])
    assert torch.equal(first, again)
    assert float((first - other).abs().max()) > 1e-3
    assert torch.allclose(first[1:], alone, atol=1e-5)
    assert recon.with_seed(7).seed == 7 and recon.seed == 0


def test_checkpointed_gradient_equals_the_plain_gradient(op, monkeypatch):
    torch.manual_seed(1)
    recon = DiffusionRecon(op, ScoreNet(chans=8, mults=(1, 2)), sampling_steps=3)
    y = op(torch.rand(1, SIZE, SIZE))
    weights = torch.rand(1, SIZE, SIZE)

    def gradient():
        y_var = y.clone().requires_grad_(True)
        (recon(y_var) * weights).sum().backward()
        return y_var.grad

    checkpointed = gradient()
    monkeypatch.setattr(diffusion, "checkpoint", lambda fn, *args, **_: fn(*args))
    plain = gradient()
    assert torch.allclose(checkpointed, plain, rtol=1e-4, atol=1e-6)
    assert float(plain.abs().sum()) > 0


def test_sampling_timesteps_run_from_the_noisiest_level_to_zero():
    assert sampling_timesteps(1) == [0]
    levels = sampling_timesteps(25)
    assert levels[0] == 999 and levels[-1] == 0 and len(levels) == 25
    assert all(a > b for a, b in zip(levels, levels[1:]))
    with pytest.raises(ValueError):
        sampling_timesteps(0)


def test_cosine_schedule_matches_its_formula():
    alpha_bar = cosine_alpha_bar()
    f = lambda t: math.cos((t / 1000 + 0.008) / 1.008 * math.pi / 2) ** 2  # noqa: E731
    assert abs(float(alpha_bar[499]) - f(500) / f(0)) < 1e-9
    assert float(alpha_bar[-1]) < 1e-4 and all(alpha_bar[1:] < alpha_bar[:-1])


def test_centre_phase_is_flat_for_a_real_image(op):
    x = blob()
    phase = centre_phase(op, op(x))
    inside = x[0] > 0.1
    assert float((phase[0][inside] - 1).abs().max()) < 1e-4


def test_training_lowers_the_denoising_loss():
    torch.manual_seed(0)
    network = ScoreNet(chans=8, mults=(1, 2))
    images = torch.rand(16, 32, 32) * 2 - 1
    alpha_bar = cosine_alpha_bar().float()
    with torch.no_grad():
        before = float(denoising_loss(network, images, alpha_bar, torch.Generator().manual_seed(3)))
    record = train_prior(network, steps=30, batch_size=4, patch=32, image_size=64, image_count=4, lr=2e-3,
                         real_fraction=0.0,
                         log=lambda _: None)
    with torch.no_grad():
        after = float(denoising_loss(network, images, alpha_bar, torch.Generator().manual_seed(3)))
    assert after < before and record["steps"] == 30 and "ε-prediction" in record["loss"]


def test_a_random_reconstructions_card_gives_the_mean_and_the_spread_over_seeds():
    from halluview.core import metrics
    from halluview.core.recon.evaluate import _sample_scores

    truth = torch.rand(3, SIZE, SIZE, generator=torch.Generator().manual_seed(0))
    samples = [truth + 0.05 * k * torch.rand(3, SIZE, SIZE, generator=torch.Generator().manual_seed(k))
               for k in (1, 2, 4)]
    scores = _sample_scores(samples, truth)
    per_seed = torch.stack([metrics.ssim(s, truth).mean() for s in samples])
    assert scores["ssim"] == pytest.approx(float(per_seed.mean()), rel=1e-6)
    assert scores["ssim_seed_std"] == pytest.approx(float(per_seed.std()), rel=1e-6)
    assert scores["sampler_seeds"] == 3 and "ssim_seed_std" not in _sample_scores(samples[:1], truth)


@pytest.mark.parametrize("eta", [0.0, 0.5, 1.0])
def test_one_ddim_step_moves_a_noisy_image_to_the_next_noise_level(op, eta):
    """DDIM (Song et al. 2021, eq. 12): from x_t = √ᾱ_t x₀ + √(1−ᾱ_t) ε, an exact prior steps to
    √ᾱ_s x₀ + √(1−ᾱ_s−σ²) ε + σ z, σ = η √((1−ᾱ_s)/(1−ᾱ_t)) √(1−ᾱ_t/ᾱ_s)."""
    x = blob()
    y = op(x)
    scale = diffusion.HEADROOM * op.baseline(y).amax()
    x0 = 2 * x / scale - 1
    generator = torch.Generator().manual_seed(5)
    epsilon, z = torch.randn(x.shape, generator=generator), torch.randn(x.shape, generator=generator)
    recon = DiffusionRecon(op, OracleNet(x0), eta=eta)
    alpha_bar = cosine_alpha_bar().float()
    t, s = 600, 400
    x_t = torch.sqrt(alpha_bar[t]) * x0 + torch.sqrt(1 - alpha_bar[t]) * epsilon
    with torch.no_grad():
        stepped, _ = recon._step(x_t, y, scale, centre_phase(op, y), z, t, s)
    sigma = eta * torch.sqrt((1 - alpha_bar[s]) / (1 - alpha_bar[t]) * (1 - alpha_bar[t] / alpha_bar[s]))
    expected = torch.sqrt(alpha_bar[s]) * x0 + torch.sqrt(1 - alpha_bar[s] - sigma ** 2) * epsilon + sigma * z
    assert torch.allclose(stepped, expected, atol=2e-5)
