"""One place that turns operator settings (an experiment's operator section, a model's card) into an operator."""
from __future__ import annotations

from typing import Mapping

from .base import Operator


def build_operator(settings: Mapping, shape: tuple[int, int]) -> Operator:
    """The operator ``settings`` describe for images of ``shape``.

    ``settings["kind"]``: "mri" (acceleration, center_fraction, mask_type, n_coils, mask_seed), "ct" (angles,
    n_angles, max_angle_deg; square images only) or "denoise". Noise is not part of the operator.
    """
    kind = settings["kind"]
    if kind == "mri":
        from .mri import build_mri_operator

        return build_mri_operator(tuple(shape), settings["acceleration"], settings["center_fraction"],
                                  settings["mask_type"], settings["n_coils"], settings["mask_seed"])
    if kind == "ct":
        from .ct import ParallelBeamCT

        if shape[0] != shape[1]:
            raise ValueError(f"CT needs a square image, not {tuple(shape)}; set an image size")
        return ParallelBeamCT.from_kind(shape[0], settings["angles"], settings["n_angles"],
                                        settings["max_angle_deg"])
    if kind == "denoise":
        from .denoise import IdentityOperator

        return IdentityOperator()
    raise ValueError(f"unknown operator kind {kind!r}; expected mri, ct or denoise")
