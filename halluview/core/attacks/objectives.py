"""Attack objectives: what the adversary maximises, given the perturbed and clean reconstructions.

All objectives are sums of squares over pixels of real images (B, H, W), returning one value per image (B,).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import Tensor

from ..errors import NEEDS_REGION, ExperimentError

KINDS = ("untargeted", "region", "insert", "remove")
INTERIOR_KINDS = ("insert", "remove")
"""Objectives that aim at a target inside the budget rather than on its boundary."""


@dataclass
class ObjectiveConfig:
    """What the attack aims for (serialisable).

    Attributes
    ----------
    kind : "untargeted", "region", "insert" or "remove"
        untargeted: maximise ‖f(y+δ) − f(y)‖² (or − reference with ``against="reference"``);
        region: maximise the change inside the region, minus ``outside_weight`` × the change outside (Morshuis
        et al. 2022); insert / remove: drive the region towards a target (a drawn lesion / the lesion erased)
        while keeping the outside unchanged.
    against : "clean" or "reference" (untargeted only).
    outside_weight : float
        Weight of the change outside the region (region, insert, remove).
    lesion : dict
        Insert: {"shape": "disc", "center_xy": [x, y], "radius_px": r, "intensity": v} or
        {"shape": "line", "start_xy": [...], "end_xy": [...], "width_px": w, "intensity": v}. Remove: the region
        is erased. Without a "center_xy" the disc is centred on the region.
    """

    kind: str = "untargeted"
    against: str = "clean"
    outside_weight: float = 1.0
    lesion: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"objective must be one of {KINDS}, not {self.kind!r}")
        if self.against not in ("clean", "reference"):
            raise ValueError(f"'against' must be 'clean' or 'reference', not {self.against!r}")
        if self.outside_weight < 0:
            raise ValueError("outside_weight must be ≥ 0")

    def to_dict(self) -> dict:
        return asdict(self)


def _sum_squares(t: Tensor) -> Tensor:
    return torch.sum(t ** 2, dim=(-2, -1))


class Objective:
    """An objective bound to one problem: ``value(perturbed) -> (B,)`` to maximise.

    Parameters
    ----------
    config : ObjectiveConfig
    clean : Tensor (B, H, W)
        f(y), the clean reconstruction.
    region : Tensor of bool (H, W) or None
        Required for region / insert / remove.
    target : Tensor (B, H, W) or None
        Insert / remove: the image the region should show; untargeted with against="reference": the reference.
    """

    def __init__(self, config: ObjectiveConfig, clean: Tensor, region: Tensor | None = None,
                 target: Tensor | None = None):
        if config.kind != "untargeted" and region is None:
            raise ExperimentError(f"the {config.kind!r} objective needs a region", NEEDS_REGION)
        if config.kind in ("insert", "remove") and target is None:
            raise ValueError(f"the {config.kind!r} objective needs a target image")
        self.config, self.clean, self.target = config, clean, target
        self.inside = None if region is None else region.to(clean.dtype)
        self.outside = None if region is None else 1 - self.inside
        # Insert and remove aim at a target that lies inside the budget, not on its boundary.
        self.interior_optimum = config.kind in INTERIOR_KINDS

    def value(self, perturbed: Tensor) -> Tensor:
        kind, change = self.config.kind, perturbed - self.clean
        if kind == "untargeted":
            anchor = self.target if self.config.against == "reference" else self.clean
            return _sum_squares(perturbed - anchor)
        penalty = self.config.outside_weight * _sum_squares(change * self.outside)
        if kind == "region":
            return _sum_squares(change * self.inside) - penalty
        return -_sum_squares((perturbed - self.target) * self.inside) - penalty


def lesion_target(clean: np.ndarray, region: np.ndarray, config: ObjectiveConfig) -> tuple[np.ndarray, np.ndarray]:
    """The target image and the region it is scored in, for insert / remove objectives.

    Insert: the clean reconstruction with the lesion painted in; the scored region is the drawn region plus the
    lesion. Remove: the drawn region erased (filled from its surroundings).
    """
    from .regions import disc_lesion, erase_target, line_lesion

    if config.kind == "remove":
        return erase_target(clean, region), region
    lesion = dict(config.lesion)
    shape = lesion.pop("shape", "disc")
    rows, cols = np.nonzero(region)
    intensity = float(lesion.pop("intensity", np.percentile(clean, 99)))
    if shape == "disc":
        centre = lesion.get("center_xy") or [float(cols.mean()), float(rows.mean())]
        radius = lesion.get("radius_px") or max(1.5, 0.35 * min(np.ptp(rows) + 1, np.ptp(cols) + 1))
        target, lesion_mask = disc_lesion(clean, centre, radius, intensity)
    elif shape == "line":
        target, lesion_mask = line_lesion(clean, lesion["start_xy"], lesion["end_xy"], intensity,
                                          lesion.get("width_px", 1.5))
    else:
        raise ValueError(f"unknown lesion shape {shape!r}; choose 'disc' or 'line'")
    return target, region | lesion_mask
