"""The orthogonal projector P = A⁺A onto the measured space (the row space of A, the range of A*), and the split
of an image e into its measured part P e and its null-space part (I − P) e.

Whatever differs between two images only by a null-space component, the measurement cannot tell apart: (I − P) e
is what the data can neither confirm nor deny (Bhadra et al. 2021; Gottschling et al., "The troublesome kernel").

When A is a partial isometry (A A* is a projection) A*A is P itself, and one application is exact: single-coil
Cartesian MRI (A*A = F⁻¹ M F: keep the sampled k-space columns) and denoising (A = I). Otherwise (multi-coil MRI, CT)
P e is the minimum-norm solution of the normal equations A*A z = A*A e, which conjugate gradients reach from z = 0
(every iterate stays in the range of A*). We run CGLS, CG on the normal equations written with A and A* separately
(numerically kinder than forming A*A; the same iterates in exact arithmetic), and report the relative normal-equation
residual ‖A*A z − A*A e‖ / ‖A*A e‖.

All computations run in float64 / complex128: the split must sum to e and its parts be orthogonal to round-off.
"""
from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field

import torch
from torch import Tensor

from ..physics.base import Operator, real_inner
from ..physics.denoise import IdentityOperator
from ..physics.mri import MRIOperator

METHODS = ("auto", "exact", "cg")


@dataclass
class ProjectionInfo:
    """How P e was computed.

    Attributes
    ----------
    method : "exact" (one application of A*A, a projector here) or "cg" (CGLS on the normal equations).
    iterations : CG iterations run (0 for "exact", and for an e with A*A e = 0).
    residual : relative normal-equation residual ‖A*A z − A*A e‖ / ‖A*A e‖ at the end (0 when exact).
    residual_history : the residual before each iteration and after the last, (iterations + 1,); [0.0] when exact.
    converged : residual ≤ the tolerance (always True when exact).
    tolerance : the tolerance CG stopped at.
    """

    method: str
    iterations: int = 0
    residual: float = 0.0
    residual_history: list[float] = field(default_factory=lambda: [0.0])
    converged: bool = True
    tolerance: float = 0.0

    def to_dict(self) -> dict:
        return {"method": self.method, "iterations": self.iterations, "residual": self.residual,
                "converged": self.converged, "tolerance": self.tolerance}


def is_partial_isometry(op: Operator) -> bool:
    """Whether A*A is itself the orthogonal projector onto the measured space (so P e = A*A e, exactly).

    Single-coil Cartesian MRI (A = M F with F unitary and M a 0/1 mask) and the identity qualify. A subclass of
    :class:`MRIOperator` may redefine A (a file's multi-coil k-space without sensitivities), so only the class
    itself counts.
    """
    if isinstance(op, IdentityOperator):
        return True
    return type(op) is MRIOperator and op.coil_maps is None


def measured_part(op: Operator, e: Tensor, method: str = "auto", iterations: int = 200,
                  tolerance: float = 1e-6) -> tuple[Tensor, ProjectionInfo]:
    """P e = A⁺A e, the part of ``e`` that the measurement sees.

    Parameters
    ----------
    op : Operator
        The forward operator A.
    e : Tensor
        (B, H, W) image in the operator's image units, real or complex.
    method : {"auto", "exact", "cg"}
        "auto": exact when A is a partial isometry (:func:`is_partial_isometry`), else CG. "exact" for another
        operator is an error; "cg" always runs CG (a check of the exact path).
    iterations : int
        Most CG iterations (≥ 1).
    tolerance : float
        CG stops when the relative normal-equation residual is at most this (> 0).

    Returns
    -------
    (Tensor, ProjectionInfo)
        P e, (B, H, W) complex128 when the operator's images are complex (a real e's measured part is complex in
        MRI: the mask is not symmetric in k-space), else float64; and how it was computed.
    """
    steps = projection_steps(op, e, method, iterations, tolerance)
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value


def split(op: Operator, e: Tensor, method: str = "auto", iterations: int = 200,
          tolerance: float = 1e-6) -> tuple[Tensor, Tensor, ProjectionInfo]:
    """e = P e + (I − P) e: the measured part, the null-space part (so that they sum to e) and how P e was found.

    Parameters and precision as in :func:`measured_part`; both parts have the measured part's dtype.
    """
    measured, info = measured_part(op, e, method, iterations, tolerance)
    return measured, _working_precision(op, e).to(measured.dtype) - measured, info


def projection_steps(op: Operator, e: Tensor, method: str = "auto", iterations: int = 200,
                     tolerance: float = 1e-6) -> Generator[tuple[int, float], None, tuple[Tensor, ProjectionInfo]]:
    """:func:`measured_part` as a generator: yields (iteration, relative residual) after each CG iteration (nothing
    when exact), so that a long projection can report progress and be cancelled; returns (P e, info)."""
    if method not in METHODS:
        raise ValueError(f"unknown projection method {method!r}; choose one of {', '.join(METHODS)}")
    if iterations < 1 or not tolerance > 0:
        raise ValueError("CG needs at least one iteration and a positive tolerance")
    exact = is_partial_isometry(op)
    if method == "exact" and not exact:
        raise ValueError("the exact projection needs a partial isometry (single-coil MRI or denoising)")
    e = _working_precision(op, e)
    if exact and method != "cg":
        return op.adjoint(op.forward(e)).to(e.dtype), ProjectionInfo("exact")
    return (yield from _cgls(op, e, iterations, tolerance))


def _working_precision(op: Operator, e: Tensor) -> Tensor:
    """e in float64, or complex128 for operators on complex images; detached, so that no autograd graph grows
    across the iterations (the operators hold buffers, not parameters)."""
    if op.complex_image or e.is_complex():
        return e.detach().to(torch.complex128)
    return e.detach().to(torch.float64)


def _cgls(op: Operator, e: Tensor, iterations: int,
          tolerance: float) -> Generator[tuple[int, float], None, tuple[Tensor, ProjectionInfo]]:
    """CGLS for min ‖A z − A e‖ from z = 0: converges to the minimum-norm solution, P e.

    The batch is one stacked system (A acts on each image alone, so the block-diagonal system is solved exactly
    as its blocks are); the residual reported is the batch's together.
    """
    z = torch.zeros_like(e)
    r = op.forward(e)  # A e − A z, in the measurement domain
    s = _in_image_dtype(op.adjoint(r), e)  # A*(A e − A z): the normal-equation residual
    start_norm = float(real_inner(s, s)) ** 0.5
    if start_norm == 0.0:  # A*A e = 0: e lies in the null space already
        return z, ProjectionInfo("cg", tolerance=tolerance)
    p, gamma = s, real_inner(s, s)
    history = [1.0]
    for _ in range(iterations):
        q = op.forward(p)
        alpha = gamma / real_inner(q, q)
        z = z + alpha * p
        r = r - alpha * q
        s = _in_image_dtype(op.adjoint(r), e)
        gamma_next = real_inner(s, s)
        history.append(float(gamma_next) ** 0.5 / start_norm)
        yield len(history) - 1, history[-1]
        if history[-1] <= tolerance:
            break
        p = s + (gamma_next / gamma) * p
        gamma = gamma_next
    return z, ProjectionInfo("cg", iterations=len(history) - 1, residual=history[-1], residual_history=history,
                             converged=history[-1] <= tolerance, tolerance=tolerance)


def _in_image_dtype(image: Tensor, like: Tensor) -> Tensor:
    """A CT adjoint is real; keep every iterate in e's dtype so that the updates never mix precisions."""
    return image.to(like.dtype)
