"""fastMRI's networks under one import path: the U-Net (unet.py) and the E2E-VarNet built on it (varnet.py).

Both keep fastMRI's exact module structure, so official state_dicts load with strict=True. The two live in their
own modules so that imports point one way (varnet → unet); this module only gathers them.
"""
from __future__ import annotations

from .unet import ConvBlock, TransposeConvBlock, Unet, normalize_instance
from .varnet import NormUnet, SensitivityModel, VarNet, VarNetBlock

__all__ = ["ConvBlock", "TransposeConvBlock", "Unet", "normalize_instance", "NormUnet", "SensitivityModel",
           "VarNet", "VarNetBlock"]
