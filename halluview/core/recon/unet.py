"""fastMRI's U-Net with fastMRI's exact module structure, so official state_dicts load with strict=True.

It follows fastmri/models/unet.py (Ronneberger et al. 2015 as adapted by Zbontar et al. 2018): parameter
names ``down_sample_layers.{i}.layers.{0,4}.weight``, ``conv.layers.{0,4}.weight``, ``up_conv...``,
``up_transpose_conv.{i}.layers.0.weight``; no biases except the final 1×1 convolution.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class ConvBlock(nn.Module):
    """Two (3×3 conv without bias → instance norm → LeakyReLU(0.2) → dropout) layers."""

    def __init__(self, in_chans: int, out_chans: int, drop_prob: float):
        super().__init__()
        self.in_chans, self.out_chans, self.drop_prob = in_chans, out_chans, drop_prob
        self.layers = nn.Sequential(
            nn.Conv2d(in_chans, out_chans, kernel_size=3, padding=1, bias=False),
            nn.InstanceNorm2d(out_chans),
            nn.LeakyReLU(negative_slope=0.2, inplace=True),
            nn.Dropout2d(drop_prob),
            nn.Conv2d(out_chans, out_chans, kernel_size=3, padding=1, bias=False),
            nn.InstanceNorm2d(out_chans),
            nn.LeakyReLU(negative_slope=0.2, inplace=True),
            nn.Dropout2d(drop_prob),
        )

    def forward(self, image: Tensor) -> Tensor:
        return self.layers(image)


class TransposeConvBlock(nn.Module):
    """2×2 transposed convolution (stride 2, no bias) → instance norm → LeakyReLU(0.2)."""

    def __init__(self, in_chans: int, out_chans: int):
        super().__init__()
        self.in_chans, self.out_chans = in_chans, out_chans
        self.layers = nn.Sequential(
            nn.ConvTranspose2d(in_chans, out_chans, kernel_size=2, stride=2, bias=False),
            nn.InstanceNorm2d(out_chans),
            nn.LeakyReLU(negative_slope=0.2, inplace=True),
        )

    def forward(self, image: Tensor) -> Tensor:
        return self.layers(image)


class Unet(nn.Module):
    """fastMRI's U-Net: (B, in_chans, H, W) → (B, out_chans, H, W); average-pool down, transposed conv up."""

    def __init__(self, in_chans: int, out_chans: int, chans: int = 32, num_pool_layers: int = 4,
                 drop_prob: float = 0.0):
        super().__init__()
        self.in_chans, self.out_chans, self.chans = in_chans, out_chans, chans
        self.num_pool_layers, self.drop_prob = num_pool_layers, drop_prob

        self.down_sample_layers = nn.ModuleList([ConvBlock(in_chans, chans, drop_prob)])
        ch = chans
        for _ in range(num_pool_layers - 1):
            self.down_sample_layers.append(ConvBlock(ch, ch * 2, drop_prob))
            ch *= 2
        self.conv = ConvBlock(ch, ch * 2, drop_prob)

        self.up_conv = nn.ModuleList()
        self.up_transpose_conv = nn.ModuleList()
        for _ in range(num_pool_layers - 1):
            self.up_transpose_conv.append(TransposeConvBlock(ch * 2, ch))
            self.up_conv.append(ConvBlock(ch * 2, ch, drop_prob))
            ch //= 2
        self.up_transpose_conv.append(TransposeConvBlock(ch * 2, ch))
        self.up_conv.append(nn.Sequential(ConvBlock(ch * 2, ch, drop_prob),
                                          nn.Conv2d(ch, out_chans, kernel_size=1, stride=1)))

    def forward(self, image: Tensor) -> Tensor:
        self._check_size(*image.shape[-2:])
        stack = []
        output = image
        for layer in self.down_sample_layers:
            output = layer(output)
            stack.append(output)
            output = F.avg_pool2d(output, kernel_size=2, stride=2, padding=0)
        output = self.conv(output)
        for transpose_conv, conv in zip(self.up_transpose_conv, self.up_conv):
            skip = stack.pop()
            output = transpose_conv(output)
            # Odd sizes: the upsampled map is one pixel short; reflect-pad it before concatenation.
            pad_right = int(output.shape[-1] != skip.shape[-1])
            pad_bottom = int(output.shape[-2] != skip.shape[-2])
            if pad_right or pad_bottom:
                output = F.pad(output, [0, pad_right, 0, pad_bottom], "reflect")
            output = conv(torch.cat([output, skip], dim=1))
        return output

    def _check_size(self, rows: int, cols: int) -> None:
        """The pooling leaves floor(side / 2^pools) pixels a side, and the bottom block's instance norm needs at
        least two of them (torch's own words for this, "... when training", would mislead)."""
        step = 2 ** self.num_pool_layers
        if (rows // step) * (cols // step) < 2:
            raise ValueError(f"the U-Net halves the image {self.num_pool_layers} times and needs at least "
                             f"{2 * step}×{step} or {step}×{2 * step} pixels; this image is {rows}×{cols}")


def normalize_instance(x: Tensor, eps: float = 1e-11) -> tuple[Tensor, Tensor, Tensor]:
    """Per-image (x − mean) / (std + eps) over the last two axes, as fastMRI's ``normalize_instance``."""
    mean = x.mean(dim=(-2, -1), keepdim=True)
    std = x.std(dim=(-2, -1), keepdim=True)
    return (x - mean) / (std + eps), mean, std

