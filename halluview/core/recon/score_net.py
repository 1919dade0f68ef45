"""The denoiser ε_θ(x_t, t) of the diffusion prior: a small time-conditioned U-Net and the noise schedule.

The network follows the DDPM U-Net (Ho et al. 2020) in miniature: residual blocks with group normalisation and
SiLU, the timestep entering every block through a sinusoidal embedding and a small MLP, strided-convolution
downsampling, nearest-neighbour upsampling and skip connections. It is fully convolutional: trained on patches,
it runs on images of any size (padded to a multiple of its total stride, then cropped back).

The schedule is the cosine schedule of Nichol & Dhariwal (2021) over :data:`TRAIN_STEPS` steps:
ᾱ(t) = cos²((t/T + s)/(1 + s) · π/2) / cos²(s/(1 + s) · π/2), s = 0.008, β_t clipped at 0.999.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

TRAIN_STEPS = 1000
"""T: the number of noise levels the denoiser is trained on."""


def cosine_alpha_bar(steps: int = TRAIN_STEPS, offset: float = 0.008) -> Tensor:
    """ᾱ_t for t = 0 … steps − 1 (float64): the share of signal variance left at noise level t."""
    ratio = torch.arange(steps + 1, dtype=torch.float64) / steps
    f = torch.cos((ratio + offset) / (1 + offset) * math.pi / 2) ** 2
    alpha_bar = f / f[0]
    betas = torch.clamp(1 - alpha_bar[1:] / alpha_bar[:-1], max=0.999)
    return torch.cumprod(1 - betas, dim=0)


def timestep_embedding(t: Tensor, dim: int) -> Tensor:
    """Sinusoidal embedding of integer timesteps (B,) → (B, dim), as in the Transformer and DDPM."""
    half = dim // 2
    frequencies = torch.exp(-math.log(10_000) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    angles = t.float()[:, None] * frequencies[None]
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)


class ResBlock(nn.Module):
    """GroupNorm → SiLU → 3×3 conv, plus the timestep's projection, → GroupNorm → SiLU → 3×3 conv, + skip."""

    def __init__(self, in_chans: int, out_chans: int, time_dim: int, groups: int = 8):
        super().__init__()
        self.norm1, self.conv1 = nn.GroupNorm(groups, in_chans), nn.Conv2d(in_chans, out_chans, 3, padding=1)
        self.time = nn.Linear(time_dim, out_chans)
        self.norm2, self.conv2 = nn.GroupNorm(groups, out_chans), nn.Conv2d(out_chans, out_chans, 3, padding=1)
        self.skip = nn.Conv2d(in_chans, out_chans, 1) if in_chans != out_chans else nn.Identity()

    def forward(self, x: Tensor, embedding: Tensor) -> Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.time(embedding)[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return h + self.skip(x)


class ScoreNet(nn.Module):
    """ε_θ(x_t, t): (B, 1, H, W), (B,) → (B, 1, H, W).

    Parameters
    ----------
    chans : int
        Channels at full resolution.
    mults : tuple of int
        Channel multiplier of each resolution level; the image is halved between levels.
    """

    def __init__(self, chans: int = 32, mults: tuple[int, ...] = (1, 2, 2)):
        super().__init__()
        self.options = {"chans": chans, "mults": list(mults)}
        self.time_dim = 4 * chans
        self.time_mlp = nn.Sequential(nn.Linear(chans, self.time_dim), nn.SiLU(),
                                      nn.Linear(self.time_dim, self.time_dim))
        self.inp = nn.Conv2d(1, chans, 3, padding=1)
        widths = [chans * m for m in mults]
        self.down = nn.ModuleList()
        self.downsample = nn.ModuleList()
        previous = chans
        for level, width in enumerate(widths):
            self.down.append(ResBlock(previous, width, self.time_dim))
            if level < len(widths) - 1:
                self.downsample.append(nn.Conv2d(width, width, 3, stride=2, padding=1))
            previous = width
        self.mid = ResBlock(previous, previous, self.time_dim)
        self.up = nn.ModuleList()
        self.upsample = nn.ModuleList()
        for level in reversed(range(len(widths))):
            self.up.append(ResBlock(previous + widths[level], widths[level], self.time_dim))
            if level > 0:
                self.upsample.append(nn.Conv2d(widths[level], widths[level - 1], 3, padding=1))
            previous = widths[level] if level == 0 else widths[level - 1]
        self.out_norm, self.out = nn.GroupNorm(8, widths[0]), nn.Conv2d(widths[0], 1, 3, padding=1)
        self.stride = 2 ** (len(widths) - 1)

    def forward(self, x: Tensor, t: Tensor) -> Tensor:
        height, width = x.shape[-2:]
        pad_h, pad_w = (-height) % self.stride, (-width) % self.stride
        if pad_h or pad_w:
            x = F.pad(x, (0, pad_w, 0, pad_h), mode="reflect")
        embedding = self.time_mlp(timestep_embedding(t, self.options["chans"]))
        h = self.inp(x)
        skips = []
        for level, block in enumerate(self.down):
            h = block(h, embedding)
            skips.append(h)
            if level < len(self.downsample):
                h = self.downsample[level](h)
        h = self.mid(h, embedding)
        for index, block in enumerate(self.up):
            skip = skips.pop()
            h = block(torch.cat([h, skip], dim=1), embedding)
            if index < len(self.upsample):
                h = self.upsample[index](F.interpolate(h, scale_factor=2.0, mode="nearest"))
        return self.out(F.silu(self.out_norm(h)))[..., :height, :width]
