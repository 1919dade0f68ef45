"""One place that turns operator settings (an experiment's operator section, a model's card) into an operator."""
from __future__ import annotations

from typing import Mapping

from .base import Operator


def build_operator(settings: Mapping, shape: tuple[int, int]) -> Operator:
    """The operator ``settings`` describe for images of ``shape``.

    ``settings["kind"]``: "mri" (acceleration, center_fraction, mask_type, n_coils, mask_seed), "ct" (angles,
    n_angles, max_angle_deg; a non-square image is zero-padded to a square, see :class:`SquarePadded`) or
    "denoise". Noise is not part of the operator. The operator records ``image_shape``.
    """
    op = _build(settings, (int(shape[0]), int(shape[1])))
    op.image_shape = (int(shape[0]), int(shape[1]))
    return op


def _build(settings: Mapping, shape: tuple[int, int]) -> Operator:
    kind = settings["kind"]
    if kind == "mri":
        from .mri import build_mri_operator

        return build_mri_operator(tuple(shape), settings["acceleration"], settings["center_fraction"],
                                  settings["mask_type"], settings["n_coils"], settings["mask_seed"])
    if kind == "ct":
        from .ct import ParallelBeamCT

        square = ParallelBeamCT.from_kind(max(shape), settings["angles"], settings["n_angles"],
                                          settings["max_angle_deg"])
        if shape[0] == shape[1]:
            return square
        from .square import SquarePadded

        return SquarePadded(square, shape)
    if kind == "denoise":
        from .denoise import IdentityOperator

        return IdentityOperator()
    raise ValueError(f"unknown operator kind {kind!r}; expected mri, ct or denoise")
