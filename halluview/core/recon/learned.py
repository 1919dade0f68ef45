"""Learned reconstructors: a network wrapped with its input pipeline so that f(y) -> image, differentiably."""
from __future__ import annotations

import torch
from torch import Tensor, nn

from ..physics.base import Operator
from ..physics.mri import center_crop
from .unet import Unet, normalize_instance


class PostProcessing(nn.Module):
    """A network applied to the baseline reconstruction (zero-filled RSS / FBP / noisy image): baseline → centre
    crop → (optionally) per-image normalisation as in fastMRI (mean/std, eps 1e-11, clamp to ±6) → network →
    (optionally) + its input → inverse scaling.

    Parameters
    ----------
    op : Operator
        Gives the baseline reconstruction of a measurement.
    network : nn.Module
        (B, 1, H, W) → (B, 1, H, W).
    crop_size : (int, int), optional
        Recon size (fastMRI: 320×320); None keeps the full image.
    residual : bool
        Add the network output to its input (FBPConvNet-style) instead of replacing it.
    normalise : bool
        Per-image normalisation; off for networks trained on a fixed physical scale (RED-CNN on attenuation).
    arch : str
        The architecture's name on the model card.
    """

    def __init__(self, op: Operator, network: nn.Module, crop_size: tuple[int, int] | None = None,
                 residual: bool = False, normalise: bool = True, name: str = "post-processing", arch: str = "cnn"):
        super().__init__()
        self.op, self.net, self.crop_size, self.name, self.arch = op, network, crop_size, name, arch
        self.residual, self.normalise = residual, normalise

    @property
    def network(self) -> nn.Module:
        """The learned part: what a weights file holds (no operator buffers)."""
        return self.net

    def process(self, image: Tensor) -> Tensor:
        """The learned step on a baseline image (B, H, W): what training on patches calls directly."""
        mean = std = None
        if self.normalise:
            image, mean, std = normalize_instance(image)
            image = image.clamp(-6, 6)
        output = self.network(image.unsqueeze(1)).squeeze(1)
        if self.residual:
            output = output + image
        return output if mean is None else output * std + mean

    def forward(self, y: Tensor) -> Tensor:
        image = self.op.baseline(y)
        if self.crop_size is not None:
            image = center_crop(image, self.crop_size)
        return self.process(image)

    def config(self) -> dict:
        return {"name": self.name, "arch": self.arch, **getattr(self.network, "options", {}),
                "residual": self.residual, "normalise": self.normalise,
                "crop_size": list(self.crop_size) if self.crop_size else None}


class UnetPostProcessing(PostProcessing):
    """fastMRI's U-Net pipeline (normalised, clamped, U-Net, inverse scaling), e.g. on zero-filled MRI; with
    ``residual`` it is FBPConvNet (Jin et al. 2017) on FBP.

    """

    def __init__(self, op: Operator, unet: Unet, crop_size: tuple[int, int] | None = None,
                 residual: bool = False, name: str = "unet"):
        super().__init__(op, unet, crop_size, residual, normalise=True, name=name, arch="fastmri-unet")

    @property
    def unet(self) -> nn.Module:
        return self.net

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
        # What fastMRI's VarNetModule passes: the centre size its mask function returned (None: found in the mask).
        num_low = getattr(self.op, "num_low_frequencies", None)
        return self.varnet(torch.view_as_real(y.contiguous()), mask, num_low)

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
