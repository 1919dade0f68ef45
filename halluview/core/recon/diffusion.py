"""Diffusion-model reconstruction: a learned image prior sampled with data consistency (unsupervised for the task).

The prior is a denoiser ε_θ trained on images alone (:mod:`.score_net`, :mod:`.diffusion_train`); it never sees a
measurement. A reconstruction runs DDIM (Song et al. 2021) over ``sampling_steps`` of the training noise levels and,
at every step, makes the denoiser's estimate of the clean image consistent with the measurement, as DDNM (Wang et
al. 2023) and score-MRI (Chung & Ye 2022) do:

    x̂₀ = clip((x_t − √(1−ᾱ_t) ε_θ(x_t, t)) / √ᾱ_t, −1, 1)    the prior's clean-image estimate
    u  = s · (x̂₀ + 1)/2 · e^{iφ}                              in image units, with the measurement's phase φ
    u' = u + A*(y − A u)                                        data consistency (a projection for single-coil
                                                                 Cartesian MRI, a gradient step otherwise)
    x̂₀' = 2 Re(u' e^{−iφ}) / s − 1,  ε' = (x_t − √ᾱ_t x̂₀') / √(1−ᾱ_t)
    x_{t'} = √ᾱ_{t'} x̂₀' + √(1−ᾱ_{t'}−σ²) ε' + σ z            σ = η √((1−ᾱ_{t'})/(1−ᾱ_t)) √(1−ᾱ_t/ᾱ_{t'})

The scale s is :data:`HEADROOM` times the zero-filled image's maximum (the prior was trained on images scaled to a
maximum between 1/1.5 and 1 of its range) and φ
the phase of the fully sampled k-space centre's low-resolution image (0 for the simulated real images). The result
is |u'| of the last step: consistent with every acquired sample.

The reconstruction is random: x_T and the σ z draws come from ``seed``. Like the Deep Decoder it offers
``with_seed``, so an attack's effect is judged against the spread between samples (:func:`..attacks.baseline.
refit_spread`). It is differentiable in y; with gradients each sampling step is checkpointed, so a direct attack
holds one step's activations at a time.
"""
from __future__ import annotations

import copy

import torch
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from ..physics.base import Operator
from .config import DiffusionParams
from .score_net import TRAIN_STEPS, ScoreNet, cosine_alpha_bar

DEFAULT_SAMPLING_STEPS = DiffusionParams.sampling_steps
DEFAULT_ETA = DiffusionParams.eta
HEADROOM = 1.25
"""The scale s is this times the zero-filled image's maximum: undersampling blurs peaks, so the zero-filled maximum
underestimates the image's (by 5–17 % on the test images), and x̂₀ is clipped to [−1, 1]."""


def sampling_timesteps(steps: int, total: int = TRAIN_STEPS) -> list[int]:
    """The ``steps`` training noise levels visited, from the noisiest (total − 1) down to 0, evenly spaced."""
    if steps < 1:
        raise ValueError(f"sampling steps must be at least 1, not {steps}")
    steps = min(steps, total)
    return sorted({round(i * (total - 1) / max(steps - 1, 1)) for i in range(steps)}, reverse=True)


PHASE_FLOOR = 0.1
"""Below this fraction of its maximum the low-resolution image's phase is its ringing, not the object's: φ = 0."""


def centre_phase(op: Operator, y: Tensor) -> Tensor:
    """e^{iφ} (B, H, W): the phase of the low-resolution image from the fully sampled centre columns of k-space.

    Real images (the simulated acquisitions) give φ = 0 inside the object; where the low-resolution image is
    below :data:`PHASE_FLOOR` of its maximum, φ = 0. Operators without k-space (or real images) give 1."""
    if not op.complex_image or getattr(op, "domain", "") != "kspace":
        return torch.ones(1, dtype=torch.float32, device=y.device)
    width = y.shape[-1]
    low = getattr(op, "num_low_frequencies", None) or max(2, round(0.08 * width))
    # A Hann taper over columns symmetric about the centre (k = 0 at W // 2): a real image's low-resolution image is
    # then real, and its side lobes (−31 dB) stay below the floor, so they cannot flip the sign of φ.
    half = (low - 1) // 2 + 1
    offset = (torch.arange(width, device=y.device) - width // 2).abs().to(torch.float32)
    taper = torch.where(offset < half, torch.cos(offset / half * torch.pi / 2) ** 2, torch.zeros_like(offset))
    image = op.adjoint(y * taper)
    magnitude = image.abs()
    floor = PHASE_FLOOR * magnitude.amax(dim=(-2, -1), keepdim=True).clamp_min(1e-30)
    return torch.where(magnitude > floor, image / magnitude.clamp_min(1e-30), torch.ones_like(image))


class DiffusionRecon(nn.Module):
    """f(y): DDIM sampling of the prior with data consistency. Real (B, H, W) output (the magnitude).

    Parameters
    ----------
    op : Operator
        The acquisition A.
    network : ScoreNet
        ε_θ, trained on images scaled to [−1, 1].
    sampling_steps : int
        Noise levels visited (network evaluations per reconstruction).
    eta : float
        DDIM's η: 0 is deterministic given x_T, 1 is DDPM-like.
    seed : int
        Draws x_T and the per-step noise; the same for every item of a batch.
    """

    def __init__(self, op: Operator, network: ScoreNet, sampling_steps: int = DEFAULT_SAMPLING_STEPS,
                 eta: float = DEFAULT_ETA, seed: int = 0, name: str = "diffusion"):
        super().__init__()
        self.op, self.net, self.name = op, network, name
        self.sampling_steps, self.eta, self.seed = int(sampling_steps), float(eta), int(seed)
        self.register_buffer("alpha_bar", cosine_alpha_bar().float(), persistent=False)

    @property
    def network(self) -> nn.Module:
        return self.net

    def with_seed(self, seed: int) -> DiffusionRecon:
        """The same reconstruction drawing from another seed (its own variation, against which attacks are judged)."""
        return self.with_settings(sampler_seed=seed)

    def with_settings(self, sampling_steps: int | None = None, eta: float | None = None,
                      sampler_seed: int | None = None) -> DiffusionRecon:
        """A copy with other sampler settings (:class:`~.config.DiffusionParams`); None keeps a setting."""
        other = copy.copy(self)
        if sampling_steps is not None:
            other.sampling_steps = int(sampling_steps)
        if eta is not None:
            other.eta = float(eta)
        if sampler_seed is not None:
            other.seed = int(sampler_seed)
        return other

    def _draws(self, shape: tuple[int, ...], count: int, device: torch.device) -> Tensor:
        """x_T and the per-step noises (count + 1, 1, H, W), drawn on the CPU from the seed (device-independent)."""
        generator = torch.Generator().manual_seed(self.seed)
        return torch.randn((count + 1, 1, *shape), generator=generator).to(device)

    def forward(self, y: Tensor) -> Tensor:
        zero_filled = self.op.baseline(y)
        scale = HEADROOM * zero_filled.amax(dim=(-2, -1)).clamp_min(1e-12)[:, None, None]
        phase = centre_phase(self.op, y)
        timesteps = sampling_timesteps(self.sampling_steps)
        draws = self._draws(tuple(zero_filled.shape[-2:]), len(timesteps), y.device)
        x = draws[0].expand(len(y), -1, -1).to(zero_filled.dtype)
        differentiable = torch.is_grad_enabled() and y.requires_grad
        for index, t in enumerate(timesteps):
            previous = timesteps[index + 1] if index + 1 < len(timesteps) else -1
            if differentiable:  # one step's activations at a time: recomputed on the backward pass
                x, image = checkpoint(self._step, x, y, scale, phase, draws[index + 1], t, previous,
                                      use_reentrant=False)
            else:
                x, image = self._step(x, y, scale, phase, draws[index + 1], t, previous)
        return image.abs()

    def _step(self, x: Tensor, y: Tensor, scale: Tensor, phase: Tensor, noise: Tensor, t: int,
              previous: int) -> tuple[Tensor, Tensor]:
        """One DDIM step from level t to ``previous`` (−1: the end) with data consistency; returns (x_prev, u')."""
        alpha = self.alpha_bar[t]
        epsilon = self.net(x[:, None], torch.full((len(x),), t, device=x.device, dtype=torch.long))[:, 0]
        x0 = torch.clamp((x - torch.sqrt(1 - alpha) * epsilon) / torch.sqrt(alpha), -1, 1)  # DDPM's clipping
        image = scale * (x0 + 1) / 2 * phase
        image = image + self.op.adjoint(y - self.op(image))
        x0 = 2 * torch.real(image * torch.conj(phase)) / scale - 1 if image.is_complex() else 2 * image / scale - 1
        if previous < 0:
            return x0, image
        epsilon = (x - torch.sqrt(alpha) * x0) / torch.sqrt(1 - alpha)
        alpha_prev = self.alpha_bar[previous]
        sigma = self.eta * torch.sqrt((1 - alpha_prev) / (1 - alpha)) * torch.sqrt(1 - alpha / alpha_prev)
        direction = torch.sqrt(torch.clamp(1 - alpha_prev - sigma ** 2, min=0)) * epsilon
        return torch.sqrt(alpha_prev) * x0 + direction + sigma * noise, image

    def config(self) -> dict:
        return {"name": self.name, "arch": "ddim-score-net", **self.net.options, "sampling_steps": self.sampling_steps,
                "eta": self.eta, "seed": self.seed, "train_steps": TRAIN_STEPS, "schedule": "cosine"}
