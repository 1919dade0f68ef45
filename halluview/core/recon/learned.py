"""Learned reconstructors: a network wrapped with its input pipeline so that f(y) -> image, differentiably."""
from __future__ import annotations

import torch
from torch import Tensor, nn

from ..physics.base import Operator
from ..physics.mri import center_crop
from .fastmri_nets import Unet, normalize_instance


class UnetPostProcessing(nn.Module):
    """fastMRI's U-Net pipeline: baseline (zero-filled RSS / FBP / noisy image) → centre crop →
    per-image normalisation (mean/std, eps 1e-11) → clamp to ±6 → U-Net → inverse scaling.

    Parameters
    ----------
    op : Operator
        Gives the baseline reconstruction of a measurement.
    unet : Unet
        A 1-channel-in, 1-channel-out U-Net.
    crop_size : (int, int), optional
        Recon size (fastMRI: 320×320); None keeps the full image.
    residual : bool
        Add the network output to the normalised input (FBPConvNet-style) instead of replacing it.
    """

    def __init__(self, op: Operator, unet: Unet, crop_size: tuple[int, int] | None = None,
                 residual: bool = False, name: str = "unet"):
        super().__init__()
        self.op, self.unet, self.crop_size, self.residual, self.name = op, unet, crop_size, residual, name

    @property
    def network(self) -> nn.Module:
        """The learned part: what a weights file holds (fastMRI's key names, no operator buffers)."""
        return self.unet

    def forward(self, y: Tensor) -> Tensor:
        image = self.op.baseline(y)
        if self.crop_size is not None:
            image = center_crop(image, self.crop_size)
        normalised, mean, std = normalize_instance(image)
        normalised = normalised.clamp(-6, 6)
        output = self.unet(normalised.unsqueeze(1)).squeeze(1)
        if self.residual:
            output = output + normalised
        return output * std + mean

    def config(self) -> dict:
        return {"name": self.name, "arch": "fastmri-unet", "chans": self.unet.chans,
                "num_pool_layers": self.unet.num_pool_layers, "residual": self.residual,
                "crop_size": list(self.crop_size) if self.crop_size else None}


class VarNetReconstruction(nn.Module):
    """fastMRI's E2E-VarNet as f(y): complex k-space (B, C, H, W) and the operator's column mask → RSS (B, H, W)."""

    def __init__(self, op: Operator, varnet: nn.Module, name: str = "varnet"):
        super().__init__()
        self.op, self.varnet, self.name = op, varnet, name

    @property
    def network(self) -> nn.Module:
        return self.varnet

    def forward(self, y: Tensor) -> Tensor:
        mask = self.op.mask.reshape(1, 1, 1, -1, 1).expand(y.shape[0], 1, 1, -1, 1)
        return self.varnet(torch.view_as_real(y.contiguous()), mask)

    def config(self) -> dict:
        return {"name": self.name, "arch": "fastmri-varnet", **self.varnet.options}


class TorchScriptPostProcessing(nn.Module):
    """A user's TorchScript network applied to the baseline reconstruction: (B, 1, H, W) → (B, 1, H, W).

    TorchScript archives hold TorchScript code, run by torch's own interpreter, not pickled Python objects.
    """

    def __init__(self, op: Operator, network: nn.Module, name: str = "torchscript"):
        super().__init__()
        self.op, self.network, self.name = op, network, name

    def forward(self, y: Tensor) -> Tensor:
        output = self.network(self.op.baseline(y).unsqueeze(1))
        return output.squeeze(1) if output.dim() == 4 else output

    def config(self) -> dict:
        return {"name": self.name, "arch": "torchscript"}
