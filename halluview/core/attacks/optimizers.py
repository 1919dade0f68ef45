"""Ascent rules for attacks: projected gradient (normalised L2 steps, sign steps for L∞) and Adam.

Step sizes are relative to the budget radius, so one setting works for every ε and every scan's scale.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import Tensor

METHODS = ("pgd", "adam")
SCHEDULES = ("constant", "cosine")


@dataclass
class OptimizerConfig:
    """How the attack climbs (serialisable).

    Attributes
    ----------
    method : "pgd" or "adam"
    steps : int
        Steps per restart.
    step_size : float or None
        Step length as a fraction of the budget radius; None = 2.5 / steps for PGD (Madry et al. 2018), 0.05 for
        Adam.
    schedule : "constant" or "cosine" (decays the step to 0 over a restart)
    random_start : bool
        Start from a random point of the budget instead of δ = 0.
    restarts : int
        Independent runs; the worst case over all of them is kept. Restarts after the first start randomly.
    """

    method: str = "pgd"
    steps: int = 100
    step_size: float | None = None
    schedule: str = "constant"
    random_start: bool = False
    restarts: int = 1

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(f"optimizer must be one of {METHODS}, not {self.method!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, not {self.schedule!r}")
        if self.steps < 1 or self.restarts < 1:
            raise ValueError("steps and restarts must be at least 1")

    def resolved_step_size(self) -> float:
        if self.step_size is not None:
            return self.step_size
        return 2.5 / self.steps if self.method == "pgd" else 0.05

    def to_dict(self) -> dict:
        return asdict(self)


class AscentRule:
    """One restart's update rule: ``step(delta, grad, index) -> new delta`` (before projection)."""

    def __init__(self, config: OptimizerConfig, threat):
        self.config, self.threat = config, threat
        self.base = config.resolved_step_size()
        self._m = self._v = None

    def _length(self, index: int) -> Tensor:
        factor = 1.0
        if self.config.schedule == "cosine":
            factor = 0.5 * (1 + math.cos(math.pi * index / self.config.steps))
        return self.base * factor * self.threat.radius

    def step(self, delta: Tensor, grad: Tensor, index: int) -> Tensor:
        if self.config.method == "adam":
            return delta + self._length(index) * self._adam_direction(grad, index)
        if self.threat.entrywise:
            return delta + self._length(index) * grad / torch.clamp(grad.abs(), min=1e-30)
        norm = self.threat.group_norm(grad)
        return delta + self._length(index) * grad / torch.clamp(norm, min=1e-30)

    def _adam_direction(self, grad: Tensor, index: int, beta1: float = 0.9, beta2: float = 0.999) -> Tensor:
        """Adam's bias-corrected m / (√v + eps), on the real and imaginary parts alike (|update| ≲ 1 per entry)."""
        if self._m is None:
            self._m, self._v = torch.zeros_like(grad), torch.zeros_like(grad.abs())
        self._m = beta1 * self._m + (1 - beta1) * grad
        self._v = beta2 * self._v + (1 - beta2) * grad.abs() ** 2
        m_hat = self._m / (1 - beta1 ** (index + 1))
        v_hat = self._v / (1 - beta2 ** (index + 1))
        direction = m_hat / (torch.sqrt(v_hat) + 1e-12)
        if not self.threat.entrywise:  # an L2 ball: scale so that a step's length is comparable to PGD's
            direction = direction / torch.clamp(self.threat.group_norm(direction), min=1e-30)
        return direction
