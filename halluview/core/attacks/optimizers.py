"""Ascent rules for attacks: projected gradient (normalised L2 steps, sign steps for L∞) and Adam.

Step sizes are fractions of the budget radius ε, so one setting works for every ε and every scan's scale. The
default schedule, ``auto``, is the step-size control of Auto-PGD (Croce & Hein, ICML 2020): start at 2ε, use
momentum 0.75, and at checkpoints spaced by the step count halve the step and return to the best point found
whenever the objective stopped improving. It needs no tuning across norms, domains and objectives, including the
region, insert and remove objectives whose optimum lies inside the budget, where a constant step only oscillates.
``constant`` (2.5ε / N, Madry et al. 2018) and ``cosine`` are the classic alternatives.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import Tensor

METHODS = ("pgd", "adam")
SCHEDULES = ("auto", "constant", "cosine")

AUTO_MOMENTUM = 0.75  # Croce & Hein 2020, α
AUTO_RHO = 0.75  # a checkpoint halves the step when fewer than this fraction of its steps improved the objective


@dataclass
class OptimizerConfig:
    """How the attack climbs (serialisable).

    Attributes
    ----------
    method : "pgd" or "adam"
    steps : int
        Steps per restart.
    step_size : float or None
        Step length as a fraction of the budget radius (the first one for ``auto``); None = the default:
        2 (Auto-PGD) for ``auto``, 2.5 / steps (Madry et al.) for ``constant`` and ``cosine`` and for objectives
        whose target lies inside the budget (insert, remove).
    schedule : "auto", "constant" or "cosine"
        auto: Auto-PGD's halving at checkpoints, back to the best point; cosine: decays the step to 0 over a restart.
    random_start : bool
        Start from a random point of the budget instead of δ ≈ 0.
    restarts : int
        Independent runs; the worst case over all of them is kept. Restarts after the first start randomly.
    """

    method: str = "pgd"
    steps: int = 100
    step_size: float | None = None
    schedule: str = "auto"
    random_start: bool = False
    restarts: int = 1

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(f"optimizer must be one of {METHODS}, not {self.method!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, not {self.schedule!r}")
        if self.steps < 1 or self.restarts < 1:
            raise ValueError("steps and restarts must be at least 1")

    def resolved_step_size(self, interior_optimum: bool = False) -> float:
        """The (first) step as a fraction of the budget radius. Objectives that aim inside the budget (insert,
        remove) start the auto schedule at 2.5 / steps too: a first step of 2ε overshoots their target by far in
        a large L∞ box, and the halvings left in a short run cannot come back."""
        if self.step_size is not None:
            return self.step_size
        return 2.0 if self.schedule == "auto" and not interior_optimum else 2.5 / self.steps

    def to_dict(self) -> dict:
        return asdict(self)


def auto_checkpoints(steps: int) -> list[int]:
    """Auto-PGD's checkpoints w_j = ⌈p_j N⌉: p_0 = 0, p_1 = 0.22, p_{j+1} = p_j + max(p_j − p_{j−1} − 0.03, 0.06)."""
    fractions = [0.0, 0.22]
    while fractions[-1] < 1:
        fractions.append(fractions[-1] + max(fractions[-1] - fractions[-2] - 0.03, 0.06))
    points = sorted({math.ceil(round(p * steps, 9)) for p in fractions if 0 < p < 1})
    return [w for w in points if 0 < w < steps]


class AscentRule:
    """One restart's update rule: ``step(delta, grad, index, value) -> new delta`` (before projection).

    ``value`` is the objective at ``delta`` (the point ``grad`` was taken at); the ``auto`` schedule uses it to
    decide when to halve the step and to return to the best point. L∞ steps are sign steps (steepest ascent in a
    box) unless ``interior_optimum``: objectives that aim at a target inside the box (insert, remove) take gradient
    steps scaled to their largest entry, since sign steps move every entry by the same amount and overshoot.
    """

    def __init__(self, config: OptimizerConfig, threat, interior_optimum: bool = False):
        self.config, self.threat, self.interior_optimum = config, threat, interior_optimum
        self.base = config.resolved_step_size(interior_optimum)
        self._m = self._v = None
        self._auto = config.schedule == "auto"
        self._checkpoints = set(auto_checkpoints(config.steps)) if self._auto else set()
        self._scale, self._previous = 1.0, None
        self._best = None  # (value, delta, grad) of the best point seen
        self._improved, self._since, self._last_value = 0, 0, None
        self._scale_at_checkpoint, self._best_at_checkpoint = 1.0, -math.inf

    def _length(self, index: int) -> Tensor:
        factor = self._scale
        if self.config.schedule == "cosine":
            factor = 0.5 * (1 + math.cos(math.pi * index / self.config.steps))
        return self.base * factor * self.threat.radius

    def step(self, delta: Tensor, grad: Tensor, index: int, value: Tensor | None = None) -> Tensor:
        if self._auto and value is not None:
            delta, grad = self._control(delta, grad, index, torch.as_tensor(value).detach())
        direction = self._direction(grad, index)
        new = delta + self._length(index) * direction
        if not self._auto or self.config.method == "adam" or self._previous is None:
            self._previous = delta
            return new
        # Auto-PGD's momentum: mix the projected step with the previous move.
        # δ + α(z − δ) + (1 − α)(δ − δ_prev) = α z + (2 − 2α) δ − (1 − α) δ_prev, in three passes instead of six
        projected = self.threat.project(new)
        moved = projected.mul(AUTO_MOMENTUM).add_(delta, alpha=2 - 2 * AUTO_MOMENTUM).sub_(
            self._previous, alpha=1 - AUTO_MOMENTUM)
        self._previous = delta
        return moved

    def _direction(self, grad: Tensor, index: int) -> Tensor:
        if self.config.method == "adam":
            return self._adam_direction(grad, index)
        if self.threat.entrywise and self.interior_optimum:
            return grad / torch.clamp(self.threat.group_norm(grad, "linf"), min=1e-30)
        if self.threat.entrywise:
            return grad / torch.clamp(grad.abs(), min=1e-30)
        return grad / torch.clamp(self.threat.group_norm(grad), min=1e-30)

    def _control(self, delta: Tensor, grad: Tensor, index: int, value: Tensor) -> tuple[Tensor, Tensor]:
        """Auto-PGD's bookkeeping at δ_index; at a checkpoint that saw too little progress, halve the step and
        continue from the best point (its gradient was kept). Kept on the device: the host reads it only at the
        checkpoints, where the schedule branches."""
        if self._last_value is not None:
            self._since += 1
            self._improved = self._improved + (value > self._last_value).to(torch.int64)
        self._last_value = value
        # The start is no candidate (δ ≈ 0 is a saddle of quadratic objectives: returning there undoes all progress).
        if index > 0:
            self._remember_best(value, delta.detach(), grad.detach())
        if index not in self._checkpoints or self._best is None:
            return delta, grad
        best = float(self._best[0])
        stalled = int(self._improved) < AUTO_RHO * max(self._since, 1)
        stuck = self._scale == self._scale_at_checkpoint and best == self._best_at_checkpoint
        self._scale_at_checkpoint, self._best_at_checkpoint = self._scale, best
        self._improved = self._since = 0
        if not (stalled or stuck):
            return delta, grad
        self._scale /= 2
        self._previous = None
        self._last_value = self._best[0]
        return self._best[1].clone(), self._best[2]

    def _remember_best(self, value: Tensor, delta: Tensor, grad: Tensor) -> None:
        """The best (value, δ, gradient) so far, chosen on the device (NaN never wins; the first of equals stays)."""
        if self._best is None:
            self._best = (value, delta.clone(), grad.clone())
            return
        better = value > self._best[0]
        self._best = (torch.where(better, value, self._best[0]), torch.where(better, delta, self._best[1]),
                      torch.where(better, grad, self._best[2]))

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
