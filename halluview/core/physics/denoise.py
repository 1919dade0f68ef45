"""Image-domain identity operator: the 'measurement' is the (noisy) image itself, as for LDCT denoisers."""
from __future__ import annotations

from torch import Tensor

from .base import Operator


class IdentityOperator(Operator):
    """A = I on real images (B, H, W). The baseline reconstruction is the measurement itself."""

    domain = "image"
    complex_image = False

    def forward(self, x: Tensor) -> Tensor:
        return x.real if x.is_complex() else x

    def adjoint(self, y: Tensor) -> Tensor:
        return y

    def baseline(self, y: Tensor) -> Tensor:
        return y

    def config(self) -> dict:
        return {"kind": "denoise"}
