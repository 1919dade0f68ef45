"""False features: the smallest perturbation budget at which a feature absent from the data can be made to appear.

For each ε of a grid, in ascending order, the existing attack runs with the "insert" objective (its target: the
clean reconstruction with a disc of the given size and contrast painted in at the point), and the feature
"appears" when the contrast of f(y + δ) − f(y) at the disc (:func:`~.feature_shapes.feature_contrast`, the
measure small features are scored with) reaches FALSE_LEVEL of the target's. The search stops at the first ε
that makes it appear: that ε is the answer, and a larger one could only repeat it.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Generator

import numpy as np
import torch

from ..attacks.objectives import ObjectiveConfig
from ..attacks.run import AttackResult, run_attack
from ..geometry import display_frame
from .common import AnalysisInput
from .feature_shapes import feature_contrast, feature_mask, neighbourhood_box, ring_mask, to_scan_xy
from .view import AnalysisStep

FALSE_LEVEL = 0.5
"""A false feature appears when f(y + δ) − f(y) shows this share of the target contrast."""


@dataclass
class FalseTrial:
    """One ε of the search: the budget asked (% of ‖y‖, or of ‖x‖ for image-domain threats), the one the attack
    used, the share of the target contrast that appeared, and whether that is enough."""

    eps_percent: float
    realised_eps_percent: float
    recovered: float
    appeared: bool
    seconds: float


@dataclass
class FalseFeatureRecord:
    """The search at one point: the feature sought and every ε tried (ascending, up to the first success)."""

    point_xy: tuple[float, float]
    size_px: int
    contrast: float
    trials: list[FalseTrial] = field(default_factory=list)
    difference: np.ndarray | None = None  # f(y + δ) − f(y) of the last ε tried (H, W)

    @property
    def smallest_eps_percent(self) -> float | None:
        """The smallest ε (in %) that made the feature appear, or None when none in the grid did."""
        return next((trial.eps_percent for trial in self.trials if trial.appeared), None)

    def summary(self) -> dict:
        return {"point": {"x": self.point_xy[0], "y": self.point_xy[1]}, "size_px": self.size_px,
                "contrast": self.contrast, "smallest_eps_percent": self.smallest_eps_percent,
                "trials": [vars(trial).copy() for trial in self.trials]}


def _attack_region(inputs: AnalysisInput, weights: np.ndarray, point_xy: tuple[float, float],
                   frame: tuple[int, int] | None) -> dict:
    """The experiment's region when it holds the point, else the feature's neighbourhood box (in scan pixels)."""
    row, col = int(round(point_xy[1])), int(round(point_xy[0]))
    if inputs.region is not None and bool(inputs.region[row, col]):
        return inputs.experiment.region
    rows, cols = np.nonzero(neighbourhood_box(weights))
    grid = weights.shape
    sy, sx = (1.0, 1.0) if frame is None else (grid[0] / frame[0], grid[1] / frame[1])
    return {"kind": "rect", "xywh": [cols.min() / sx, rows.min() / sy, (np.ptp(cols) + 1) / sx,
                                     (np.ptp(rows) + 1) / sy]}


def _problem(inputs: AnalysisInput, weights: np.ndarray, point_xy: tuple[float, float], eps_percent: float,
             intensity: float, size_px: int, steps: int):
    """The insert attack for one ε: the threat made relative (ε in % of ‖y‖), a disc target at the point."""
    experiment = inputs.experiment
    frame = display_frame(inputs.config)
    scan_per_grid = 1.0 if frame is None else (frame[0] / weights.shape[0] + frame[1] / weights.shape[1]) / 2
    lesion = {"shape": "disc", "center_xy": list(to_scan_xy(point_xy, weights.shape, frame)),
              "radius_px": size_px / 2 * scan_per_grid, "intensity": intensity}
    objective = ObjectiveConfig(kind="insert", outside_weight=experiment.objective.outside_weight, lesion=lesion)
    threat = replace(experiment.threat, eps=eps_percent / 100, eps_mode="relative")
    changed = replace(experiment, objective=objective, threat=threat,
                      optimizer=replace(experiment.optimizer, steps=steps),
                      region=_attack_region(inputs, weights, point_xy, frame))
    from ..problem import bind  # reads files when loaded: only when a false feature is searched

    return bind(changed, inputs.reconstruction)


def search_false_feature(inputs: AnalysisInput, point_xy: tuple[float, float], size_px: int, contrast: float,
                         eps_percents: tuple[float, ...], steps: int, scale: float, sign: float, first_step: int,
                         total: int) -> Generator[AnalysisStep, None, FalseFeatureRecord]:
    """Attack with growing ε until a disc of ``size_px`` and ``contrast`` (× ``scale``, the object's maximum;
    ``sign`` −1 for a dark one) appears at ``point_xy`` (working-grid pixels), yielding every attack step.

    Returns the :class:`FalseFeatureRecord`; steps are numbered from ``first_step`` out of ``total``.
    """
    grid = tuple(inputs.clean.shape[-2:])
    weights = feature_mask("disc", size_px, grid, point_xy)
    ring = ring_mask(weights)
    weights_t = torch.from_numpy(weights).to(inputs.device)
    ring_t = torch.from_numpy(ring).to(inputs.device)
    target = sign * contrast * scale * feature_contrast(weights_t[None].double(), weights_t, ring_t)
    clean = inputs.clean[0].detach()
    local = float((clean * weights_t).sum() / weights_t.sum())  # the disc paints over what f(y) shows there
    record = FalseFeatureRecord(tuple(point_xy), size_px, contrast)
    done, warm = first_step, None
    for eps_percent in sorted(eps_percents):
        problem = _problem(inputs, weights, point_xy, eps_percent, local + sign * contrast * scale, size_px, steps)
        problem.warm_start = warm  # the δ found for the smaller ε is a good start for a larger one
        if problem.surrogate is not None:
            problem.surrogate.warm_start = warm
        attack = run_attack(problem)
        while True:
            try:
                step = next(attack)
            except StopIteration as stop:
                result = stop.value
                break
            done += 1
            yield AnalysisStep(min(done, total), total, f"false feature at ({point_xy[0]:.0f}, {point_xy[1]:.0f}), "
                                                        f"ε {eps_percent:g} %: step {step.step}/{step.total}")
        trial = _trial(result, eps_percent, weights_t, ring_t, float(target))
        record.trials.append(trial)
        record.difference = result.perturbed - result.clean
        warm = torch.from_numpy(result.delta)[None].to(inputs.device)
        if trial.appeared:
            break
    return record


def _trial(result: AttackResult, eps_percent: float, weights: torch.Tensor, ring: torch.Tensor,
           target: float) -> FalseTrial:
    change = torch.from_numpy(result.perturbed - result.clean)[None].to(weights.device, torch.float64)
    recovered = float(feature_contrast(change, weights, ring)) / target
    return FalseTrial(eps_percent=float(eps_percent), realised_eps_percent=100 * result.norms["realised_eps"],
                      recovered=recovered, appeared=recovered >= FALSE_LEVEL, seconds=round(result.seconds, 3))
