"""fastMRI's End-to-End Variational Network (Sriram et al. 2020) with fastMRI's exact module structure, so the
official state_dicts load with strict=True: ``sens_net.norm_unet.unet.<Unet keys>``, ``cascades.{i}.dc_weight``,
``cascades.{i}.model.unet.<Unet keys>`` (324 keys for the defaults).

Tensors follow fastMRI: k-space (B, C, H, W, 2) with real and imaginary parts last, mask bool (B, 1, 1, W, 1).

Gradient checkpointing (``VarNet(checkpointing=...)``) keeps only each cascade's input during the forward pass and
recomputes the rest in the backward pass: the same numbers, a fraction of the memory, about one more forward of
time. ``"auto"`` checkpoints when :func:`varnet_activation_bytes` says a plain forward + backward would not fit in
the memory :func:`available_memory_bytes` finds.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from ..device_memory import available_memory_bytes
from ..physics.mri import fft2c as _fft2c_complex
from ..physics.mri import ifft2c as _ifft2c_complex
from .unet import Unet


def fft2c(x: Tensor) -> Tensor:
    """Centred orthonormal FFT of a (..., H, W, 2) real-view tensor."""
    return torch.view_as_real(_fft2c_complex(torch.view_as_complex(x.contiguous())))


def ifft2c(x: Tensor) -> Tensor:
    return torch.view_as_real(_ifft2c_complex(torch.view_as_complex(x.contiguous())))


def complex_mul(a: Tensor, b: Tensor) -> Tensor:
    re = a[..., 0] * b[..., 0] - a[..., 1] * b[..., 1]
    im = a[..., 0] * b[..., 1] + a[..., 1] * b[..., 0]
    return torch.stack((re, im), dim=-1)


def complex_conj(x: Tensor) -> Tensor:
    return torch.stack((x[..., 0], -x[..., 1]), dim=-1)


def rss_complex(x: Tensor, dim: int = 0) -> Tensor:
    """sqrt(Σ |x|²) over ``dim`` of a (..., 2) real-view tensor."""
    return torch.sqrt((x ** 2).sum(dim=-1).sum(dim))


class NormUnet(nn.Module):
    """A U-Net on complex images: real / imaginary as channels, normalised as two groups, padded to 16."""

    def __init__(self, chans: int, num_pools: int, in_chans: int = 2, out_chans: int = 2, drop_prob: float = 0.0):
        super().__init__()
        self.unet = Unet(in_chans=in_chans, out_chans=out_chans, chans=chans, num_pool_layers=num_pools,
                         drop_prob=drop_prob)

    @staticmethod
    def complex_to_chan_dim(x: Tensor) -> Tensor:
        b, c, h, w, two = x.shape
        return x.permute(0, 4, 1, 2, 3).reshape(b, 2 * c, h, w)

    @staticmethod
    def chan_complex_to_last_dim(x: Tensor) -> Tensor:
        b, c2, h, w = x.shape
        return x.view(b, 2, c2 // 2, h, w).permute(0, 2, 3, 4, 1).contiguous()

    @staticmethod
    def norm(x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Mean / std of the real parts and of the imaginary parts (two groups), as fastMRI computes them."""
        b, c, h, w = x.shape
        grouped = x.reshape(b, 2, c // 2 * h * w)
        mean = grouped.mean(dim=2).view(b, 2, 1, 1)
        std = grouped.std(dim=2).view(b, 2, 1, 1)
        x = x.view(b, 2, c // 2, h, w)
        x = (x - mean.unsqueeze(2)) / std.unsqueeze(2)
        return x.view(b, c, h, w), mean, std

    @staticmethod
    def unnorm(x: Tensor, mean: Tensor, std: Tensor) -> Tensor:
        b, c, h, w = x.shape
        x = x.view(b, 2, c // 2, h, w) * std.unsqueeze(2) + mean.unsqueeze(2)
        return x.view(b, c, h, w)

    @staticmethod
    def pad(x: Tensor) -> tuple[Tensor, tuple[list[int], list[int], int, int]]:
        _, _, h, w = x.shape
        w_mult, h_mult = ((w - 1) | 15) + 1, ((h - 1) | 15) + 1
        w_pad = [math.floor((w_mult - w) / 2), math.ceil((w_mult - w) / 2)]
        h_pad = [math.floor((h_mult - h) / 2), math.ceil((h_mult - h) / 2)]
        return F.pad(x, w_pad + h_pad), (h_pad, w_pad, h_mult, w_mult)

    @staticmethod
    def unpad(x: Tensor, h_pad: list[int], w_pad: list[int], h_mult: int, w_mult: int) -> Tensor:
        return x[..., h_pad[0]:h_mult - h_pad[1], w_pad[0]:w_mult - w_pad[1]]

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-1] != 2:
            raise ValueError("the last dimension must hold the real and imaginary parts (size 2)")
        x = self.complex_to_chan_dim(x)
        x, mean, std = self.norm(x)
        x, pad_sizes = self.pad(x)
        x = self.unpad(self.unet(x), *pad_sizes)
        return self.chan_complex_to_last_dim(self.unnorm(x, mean, std))


def batched_mask_center(x: Tensor, mask_from: Tensor, mask_to: Tensor) -> Tensor:
    """Keep only columns [mask_from[i], mask_to[i]) of each batch item of (B, C, H, W, 2) k-space."""
    columns = torch.arange(x.shape[-2], device=x.device)
    keep = (columns[None, :] >= mask_from[:, None]) & (columns[None, :] < mask_to[:, None])
    return x * keep[:, None, None, :, None].to(x.dtype)


class SensitivityModel(nn.Module):
    """Coil sensitivities from the fully sampled centre (ACS): inverse FFT, a NormUnet per coil, divide by RSS."""

    def __init__(self, chans: int, num_pools: int, in_chans: int = 2, out_chans: int = 2, drop_prob: float = 0.0,
                 mask_center: bool = True):
        super().__init__()
        self.mask_center = mask_center
        self.norm_unet = NormUnet(chans, num_pools, in_chans=in_chans, out_chans=out_chans, drop_prob=drop_prob)

    @staticmethod
    def get_pad_and_num_low_freqs(mask: Tensor, num_low_frequencies: int | Tensor | None = None
                                  ) -> tuple[Tensor, Tensor]:
        """The ACS block [pad, pad + num_low) per batch item, as fastMRI computes it.

        ``num_low_frequencies``: what fastMRI's mask function returned (an int, or a (B,) / (1,) tensor as a
        DataLoader collates it); None or 0 finds the block in the mask: the symmetric run of sampled columns
        around the centre (at least 1). fastMRI accepts a tensor only for B = 1; here each item may differ.
        """
        squeezed = mask[:, 0, 0, :, 0].to(torch.int8)
        centre = squeezed.shape[1] // 2
        left = torch.argmin(squeezed[:, :centre].flip(1), dim=1)
        right = torch.argmin(squeezed[:, centre:], dim=1)
        num_low = torch.max(2 * torch.min(left, right), torch.ones_like(left))
        if num_low_frequencies is not None:
            given = torch.as_tensor(num_low_frequencies, device=mask.device).long().reshape(-1)
            num_low = torch.where(given > 0, given.expand_as(num_low), num_low)
        pad = (mask.shape[-2] - num_low + 1) // 2
        return pad.long(), num_low.long()

    def forward(self, masked_kspace: Tensor, mask: Tensor, num_low_frequencies: int | Tensor | None = None
                ) -> Tensor:
        if self.mask_center:
            pad, num_low = self.get_pad_and_num_low_freqs(mask, num_low_frequencies)
            masked_kspace = batched_mask_center(masked_kspace, pad, pad + num_low)
        b, c, h, w, two = masked_kspace.shape
        images = ifft2c(masked_kspace).view(b * c, 1, h, w, two)
        maps = self.norm_unet(images).view(b, c, h, w, two)
        return maps / rss_complex(maps, dim=1).unsqueeze(-1).unsqueeze(1)


class VarNetBlock(nn.Module):
    """One cascade: k − dc_weight · M(k − k₀) − F S R(F⁻¹ S* k), with R a NormUnet."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        self.dc_weight = nn.Parameter(torch.ones(1))

    @staticmethod
    def sens_expand(x: Tensor, sens_maps: Tensor) -> Tensor:
        return fft2c(complex_mul(x, sens_maps))

    @staticmethod
    def sens_reduce(x: Tensor, sens_maps: Tensor) -> Tensor:
        return complex_mul(ifft2c(x), complex_conj(sens_maps)).sum(dim=1, keepdim=True)

    def forward(self, current_kspace: Tensor, ref_kspace: Tensor, mask: Tensor, sens_maps: Tensor) -> Tensor:
        zero = torch.zeros(1, 1, 1, 1, 1).to(current_kspace)
        soft_dc = torch.where(mask, current_kspace - ref_kspace, zero) * self.dc_weight
        model_term = self.sens_expand(self.model(self.sens_reduce(current_kspace, sens_maps)), sens_maps)
        return current_kspace - soft_dc - model_term


CHECKPOINTING = ("auto", "on", "off")
# Peak bytes of a plain forward + backward, least-squares fitted to ru_maxrss (see varnet_activation_bytes).
_UNET_BYTES, _CASCADE_COIL_BYTES, _SENS_COIL_BYTES, _FIXED_BYTES = 53.0, 31.0, 271.0, 45e6
_SAFETY = 1.25  # "auto" wants this multiple of the estimate free: allocator slack, the attack's own tensors


def varnet_activation_bytes(shape: tuple[int, ...], chans: int = 18, cascades: int = 12, pools: int = 4,
                            sens_chans: int = 8, sens_pools: int = 4, checkpointed: bool = False) -> int:
    """Estimated peak memory of one forward + backward through a float32 :class:`VarNet`, beyond its weights.

    Parameters
    ----------
    shape : (B, C, H, W) or (B, C, H, W, 2)
        The masked k-space: batch, coils, rows, columns.
    chans, cascades, pools, sens_chans, sens_pools : int
        The network's sizes (fastMRI's defaults).
    checkpointed : bool
        With checkpointing over the cascades: the sensitivity network, two cascades' worth (one recomputed, its
        backward) and 16 bytes per coil pixel for each cascade's kept input and gradient.

    Returns
    -------
    int
        Bytes. Measured constants, least-squares fitted to the ru_maxrss increase of 15 plain forward + backward
        passes on the CPU (torch 2.13; 1–15 coils, 128²–384², 2–8 cascades, chans 8–18): 53 bytes per U-Net
        element (items × channels × padded pixels × (2 − 2^−pools)), 31 per coil pixel per cascade, 271 per
        coil pixel for the sensitivity network, 45 MB fixed. Plain: within 0.92–1.08 of the measured peaks;
        checkpointed: 0.79–1.17 (5 runs).
    """
    batch, coils, rows, columns = shape[:4]
    coil_pixels = batch * coils * rows * columns
    padded = (((rows - 1) | 15) + 1) * (((columns - 1) | 15) + 1)  # NormUnet pads to multiples of 16

    def unet(items: int, width: int, depth: int) -> float:
        return _UNET_BYTES * items * width * padded * (2 - 2.0 ** -depth)

    sens = unet(batch * coils, sens_chans, sens_pools) + _SENS_COIL_BYTES * coil_pixels
    cascade = unet(batch, chans, pools) + _CASCADE_COIL_BYTES * coil_pixels
    if not checkpointed:
        return int(_FIXED_BYTES + sens + cascades * cascade)
    return int(_FIXED_BYTES + sens + 2 * cascade + cascades * 16 * coil_pixels)


class VarNet(nn.Module):
    """fastMRI's E2E-VarNet: ``forward(masked_kspace (B, C, H, W, 2), mask bool (B, 1, 1, W, 1),
    num_low_frequencies=None)`` → RSS (B, H, W).

    ``num_low_frequencies`` is what fastMRI's ``VarNetModule`` passes: the centre size the mask function returned
    with the mask (int, or a collated (B,) tensor); None or 0 lets the sensitivity network find the centre in the
    mask, as fastMRI does for masks read from a file.

    ``checkpointing``: "on" recomputes each cascade in the backward pass whenever autograd records; "off" never;
    "auto" (default) only when :func:`varnet_activation_bytes` times a safety margin exceeds
    :func:`available_memory_bytes` on the input's device. ``last_checkpointed`` says what the last call did. It
    changes memory and time, not the numbers, so it is not part of ``options`` (the recorded configuration).
    """

    def __init__(self, num_cascades: int = 12, sens_chans: int = 8, sens_pools: int = 4, chans: int = 18,
                 pools: int = 4, mask_center: bool = True, checkpointing: str = "auto"):
        super().__init__()
        if checkpointing not in CHECKPOINTING:
            raise ValueError(f"checkpointing must be one of {CHECKPOINTING}, not {checkpointing!r}")
        self.sens_net = SensitivityModel(chans=sens_chans, num_pools=sens_pools, mask_center=mask_center)
        self.cascades = nn.ModuleList([VarNetBlock(NormUnet(chans, pools)) for _ in range(num_cascades)])
        self.options = {"num_cascades": num_cascades, "sens_chans": sens_chans, "sens_pools": sens_pools,
                        "chans": chans, "pools": pools, "mask_center": mask_center}
        self.checkpointing, self.last_checkpointed = checkpointing, False

    def activation_bytes(self, shape: tuple[int, ...], checkpointed: bool = False) -> int:
        """:func:`varnet_activation_bytes` for this network's sizes."""
        o = self.options
        return varnet_activation_bytes(shape, o["chans"], o["num_cascades"], o["pools"], o["sens_chans"],
                                       o["sens_pools"], checkpointed)

    def wants_checkpointing(self, masked_kspace: Tensor) -> bool:
        """Whether a call on ``masked_kspace`` checkpoints (see the class docstring)."""
        recording = torch.is_grad_enabled() and (
            masked_kspace.requires_grad or any(p.requires_grad for p in self.parameters()))
        if not recording or self.checkpointing == "off":
            return False
        if self.checkpointing == "on":
            return True
        available = available_memory_bytes(masked_kspace.device)
        return available is not None and _SAFETY * self.activation_bytes(masked_kspace.shape) > available

    def forward(self, masked_kspace: Tensor, mask: Tensor, num_low_frequencies: int | Tensor | None = None
                ) -> Tensor:
        self.last_checkpointed = checkpointed = self.wants_checkpointing(masked_kspace)
        sens_maps = self.sens_net(masked_kspace, mask, num_low_frequencies)
        kspace_pred = masked_kspace.clone()
        for cascade in self.cascades:
            if checkpointed:  # keep only the cascade's input; recompute its inside in the backward pass
                kspace_pred = checkpoint(cascade, kspace_pred, masked_kspace, mask, sens_maps, use_reentrant=False)
            else:
                kspace_pred = cascade(kspace_pred, masked_kspace, mask, sens_maps)
        return rss_complex(ifft2c(kspace_pred), dim=1)
