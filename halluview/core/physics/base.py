"""The operator interface shared by every modality.

An operator maps a 2-D image batch x (B, H, W) to a measurement y and back. All methods are differentiable torch
code, so attacks back-propagate through them. Inner products are real: <a, b> = Re(sum(conj(a) * b)).
"""
from __future__ import annotations

import torch
from torch import Tensor


class Operator(torch.nn.Module):
    """A (linear) forward operator A with its adjoint and a baseline reconstruction.

    Subclasses set ``domain`` ("kspace", "sinogram" or "image") and ``complex_image`` (whether the image the
    operator acts on is complex: True for MRI, whose images carry phase; False for CT and denoising).
    """

    domain: str = "image"
    complex_image: bool = False

    def forward(self, x: Tensor) -> Tensor:  # noqa: D401 - torch signature
        """A x: image (B, H, W) -> measurement."""
        raise NotImplementedError

    def adjoint(self, y: Tensor) -> Tensor:
        """A* y: measurement -> image (B, H, W) (complex when ``complex_image``)."""
        raise NotImplementedError

    def baseline(self, y: Tensor) -> Tensor:
        """The classical one-shot reconstruction (zero-filled RSS, FBP, identity): real (B, H, W)."""
        raise NotImplementedError

    def measurement_mask(self, y: Tensor) -> Tensor | None:
        """Boolean mask (broadcastable to y) of the measured entries; None when every entry is measured.

        Measurement-domain perturbations are confined to it (an attack may not invent unacquired k-space lines).
        """
        return None

    def config(self) -> dict:
        """JSON-serialisable settings that rebuild this operator."""
        return {}


def real_inner(a: Tensor, b: Tensor) -> Tensor:
    """Re <a, b> summed over everything: the inner product for which ``adjoint`` is the adjoint."""
    if a.is_complex() or b.is_complex():
        return torch.sum(torch.real(torch.conj(a) * b))
    return torch.sum(a * b)


def operator_norm(op: Operator, shape: tuple[int, ...], iters: int = 30, seed: int = 0,
                  device: str | torch.device = "cpu") -> float:
    """Largest singular value of ``op`` by power iteration on A*A, for an image of ``shape`` (B, H, W)."""
    gen = torch.Generator(device="cpu").manual_seed(seed)
    x = torch.randn(shape, generator=gen).to(device)
    if op.complex_image:
        x = torch.complex(x, torch.randn(shape, generator=gen).to(device))
    norm = 0.0
    with torch.no_grad():
        for _ in range(iters):
            x = x / torch.linalg.vector_norm(x)
            x = op.adjoint(op.forward(x))
            norm = float(torch.linalg.vector_norm(x))
    return norm ** 0.5
