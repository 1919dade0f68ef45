"""A non-square slice under a square-only geometry (parallel-beam CT): zero-padded to a square, never resized."""
from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from .base import Operator
from .mri import center_crop


class SquarePadded(Operator):
    """``inner`` (an operator on side × side images) applied to (H, W) images zero-padded to side = max(H, W),
    centred as :func:`center_crop` crops; the adjoint and the baseline are cropped back to (H, W). Zero is air in
    the simulation's CT units, so the padding adds no object."""

    def __init__(self, inner: Operator, shape: tuple[int, int]):
        super().__init__()
        self.inner, self.shape = inner, (int(shape[0]), int(shape[1]))
        side = max(self.shape)
        self.pads = (side - self.shape[1]) // 2, (side - self.shape[0]) // 2
        self.side = side
        self.domain, self.complex_image = inner.domain, inner.complex_image

    def _pad(self, x: Tensor) -> Tensor:
        left, top = self.pads
        return F.pad(x, (left, self.side - self.shape[1] - left, top, self.side - self.shape[0] - top))

    def forward(self, x: Tensor) -> Tensor:
        return self.inner(self._pad(x))

    def adjoint(self, y: Tensor) -> Tensor:
        return center_crop(self.inner.adjoint(y), self.shape)

    def baseline(self, y: Tensor) -> Tensor:
        return center_crop(self.inner.baseline(y), self.shape)

    def measurement_mask(self, y: Tensor) -> Tensor | None:
        return self.inner.measurement_mask(y)

    def config(self) -> dict:
        return {**self.inner.config(), "padded_from": list(self.shape)}

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self.inner, name)  # n_angles, angles_deg, fbp, … of the CT geometry
