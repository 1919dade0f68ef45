"""Training the diffusion prior: denoising score matching on images alone (no measurement is ever simulated).

The images are the built-in MRI networks' own training images (:func:`.training_data.training_set` at the models'
128² size, half phantoms, half patches of real anatomy), cut into random ``patch``² crops, randomly flipped, each
scaled to [−1, 1] by its maximum times a random factor (:data:`SCALE_JITTER`). A step draws t uniformly from
the T noise levels and ε ~ N(0, I) and minimises
‖ε_θ(√ᾱ_t x₀ + √(1−ᾱ_t) ε, t) − ε‖² (Ho et al. 2020). ``halluview-cli train diffusion-mri-4x`` runs it.
"""
from __future__ import annotations

import time
from typing import Callable

import numpy as np
import torch

from .score_net import TRAIN_STEPS, ScoreNet, cosine_alpha_bar
from .training_data import training_set

IMAGE_COUNT = 1200
SCALE_JITTER = (1.0, 1.5)
"""A crop is divided by its maximum times a factor drawn from this range: the prior learns images whose maximum is
anywhere from 1/1.5 to 1 of the full scale, as a reconstruction's scale (:data:`.diffusion.HEADROOM` times the
zero-filled maximum) only estimates the true maximum."""


def scaled_crops(images: torch.Tensor, patch: int, count: int, rng: np.random.Generator) -> torch.Tensor:
    """``count`` random ``patch``² crops of ``images`` (N, S, S), flipped at random, each mapped to [−1, 1] by its
    maximum times a factor from :data:`SCALE_JITTER` (blank crops are drawn again)."""
    crops = []
    while len(crops) < count:
        image = images[int(rng.integers(len(images)))]
        top, left = (int(rng.integers(image.shape[-2] - patch + 1)), int(rng.integers(image.shape[-1] - patch + 1)))
        crop = image[top:top + patch, left:left + patch]
        if rng.uniform() < 0.5:
            crop = crop.flip(-1)
        peak = float(crop.max())
        if peak < 0.05:
            continue
        crops.append(2 * crop.clamp_min(0) / (peak * rng.uniform(*SCALE_JITTER)) - 1)
    return torch.stack(crops)


def denoising_loss(network: ScoreNet, x0: torch.Tensor, alpha_bar: torch.Tensor,
                   generator: torch.Generator) -> torch.Tensor:
    """The DDPM ε-prediction loss on a batch of clean images (B, H, W) in [−1, 1]."""
    t = torch.randint(0, len(alpha_bar), (len(x0),), generator=generator)
    noise = torch.randn(x0.shape, generator=generator)
    alpha = alpha_bar[t][:, None, None]
    noisy = torch.sqrt(alpha) * x0 + torch.sqrt(1 - alpha) * noise
    return torch.mean((network(noisy[:, None], t)[:, 0] - noise) ** 2)


def train_prior(network: ScoreNet, steps: int, batch_size: int, patch: int, seed: int = 0, lr: float = 2e-4,
                real_fraction: float = 0.5, image_size: int = 128, image_count: int = IMAGE_COUNT,
                log: Callable[[str], None] = print) -> dict:
    """Fit ``network`` in place; returns what the card records about the training."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    generator = torch.Generator().manual_seed(seed)
    started = time.time()
    images = torch.from_numpy(training_set(image_size, image_count, seed0=0, real_fraction=real_fraction,
                                           modality="mri"))
    alpha_bar = cosine_alpha_bar().float()
    optimiser = torch.optim.Adam(network.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, steps, eta_min=lr / 10)
    network.train()
    log(f"training images ready ({time.time() - started:.0f} s)")
    losses = []
    for step in range(steps):
        loss = denoising_loss(network, scaled_crops(images, patch, batch_size, rng), alpha_bar, generator)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        losses.append(loss.item())
        if step % 200 == 0 or step == steps - 1:
            log(f"step {step:5d}  loss {np.mean(losses[-200:]):.4f}  {time.time() - started:.0f} s")
    network.eval()
    return {"loss": "DDPM ε-prediction MSE (Ho et al. 2020), cosine schedule, T = " f"{TRAIN_STEPS}",
            "optimiser": f"Adam lr {lr}, cosine decay to {lr / 10:g}", "steps": steps, "batch_size": batch_size,
            "patch": patch, "final_loss": round(float(np.mean(losses[-200:])), 5),
            "seconds": round(time.time() - started, 1)}


VALIDATION_IMAGES = 6


def sampler_validation(recon, settings: tuple[tuple[int, float], ...], size: int = 128) -> dict:
    """Mean SSIM / PSNR of ``recon`` (a DiffusionRecon around the entry's operator) on :data:`VALIDATION_IMAGES`
    validation phantoms for each (sampling steps, η) in ``settings``, seed 0; zero-filled for scale."""
    from .. import metrics
    from .classical import BaselineRecon
    from .training_data import VALIDATION_SEED, phantom_set

    images = torch.from_numpy(phantom_set(size, VALIDATION_IMAGES, seed0=VALIDATION_SEED))
    y = recon.op(images)
    rows = {}
    with torch.no_grad():
        zero_filled = BaselineRecon(recon.op)(y)
        for steps, eta in settings:
            started = time.time()
            image = recon.with_settings(sampling_steps=steps, eta=eta)(y)
            rows[f"{steps} steps, eta {eta:g}"] = {
                "ssim": round(float(metrics.ssim(image, images).mean()), 4),
                "psnr": round(float(metrics.psnr(image, images).mean()), 2),
                "seconds_per_image": round((time.time() - started) / len(images), 2)}
    return {"validation": f"{VALIDATION_IMAGES} generated phantoms, seeds from {VALIDATION_SEED}, sampler seed 0",
            "zero_filled": {"ssim": round(float(metrics.ssim(zero_filled, images).mean()), 4),
                            "psnr": round(float(metrics.psnr(zero_filled, images).mean()), 2)},
            "settings": rows}
