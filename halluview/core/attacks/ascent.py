"""One problem's ascent as a state machine, and what the host reads of it: the step records.

The ascent itself never waits for the host: the objective, the realised ε and the best point so far stay on the
device, step after step. The host reads them at the paint rate (:class:`PaintClock`): every step's objective and
realised ε in one transfer, and for the latest step only, its images (at most 20 times a second) and its metrics
(as often as they cost at most 1 % of the time, and always for the last step).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from .. import metrics
from .attack_problem import AttackProblem
from .optimizers import AscentRule

NEAR_ZERO_START = 1e-3  # without a random start, δ starts at this fraction of a random point of the budget
PAINT_INTERVAL_S = 1 / 20  # the live view's refresh: at most 20 host reads (and image copies) a second
METRICS_SHARE = 0.01  # live metrics may cost at most this share of the attack's time


@dataclass
class AttackStep:
    """One step's record (CPU only): what the GUI paints and the CLI logs. ``metrics`` is empty and the images
    are None on the steps the host read between paints (every step has its objective and realised ε)."""

    step: int
    total: int
    restart: int
    objective: float
    realised_eps: float
    metrics: dict
    elapsed_s: float
    perturbed: np.ndarray | None = None
    difference: np.ndarray | None = None
    completed: int = 0  # steps done in all (restarts run side by side number their steps apart); 0: ``step``

    def summary(self) -> dict:
        return {"step": self.step, "restart": self.restart, "objective": self.objective,
                "realised_eps": self.realised_eps, "elapsed_s": round(self.elapsed_s, 4), "metrics": self.metrics}


@dataclass
class PaintClock:
    """When the host reads the steps (at most every ``interval_s``), and whether that read computes the metrics:
    only when the time since the last metrics is at least their cost / ``share`` (their measured cost)."""

    interval_s: float = PAINT_INTERVAL_S
    share: float = METRICS_SHARE
    _last_read: float = field(default=-math.inf, repr=False)
    _last_metrics: float = field(default=-math.inf, repr=False)
    _metrics_cost_s: float = field(default=0.0, repr=False)

    def read_due(self) -> bool:
        now = time.perf_counter()
        if now - self._last_read < self.interval_s:
            return False
        self._last_read = now
        return True

    def metrics_due(self) -> bool:
        return time.perf_counter() - self._last_metrics >= max(self.interval_s, self._metrics_cost_s / self.share)

    def metrics_took(self, started: float) -> None:
        now = time.perf_counter()
        self._metrics_cost_s, self._last_metrics = now - started, now


def step_metrics(problem: AttackProblem, perturbed: Tensor) -> dict:
    """Perturbed vs clean (and vs reference), globally and in / out of the region: one batched pass."""
    return batch_metrics(problem, perturbed[:1])[0]


def batch_metrics(problem: AttackProblem, images: Tensor) -> list[dict]:
    """:func:`step_metrics` of each of ``images`` (n, H, W), all in one batched pass of :func:`metrics.compare`."""
    region = None if problem.region is None else problem.region.cpu()
    anchors = {"vs_clean": problem.clean[0]}
    if problem.reference is not None:
        anchors["vs_reference"] = problem.reference[0]
    ranges = [float(problem.clean[0].max()), problem.data_range or float(problem.reference[0].max())
              ] if len(anchors) == 2 else [float(problem.clean[0].max())]
    n, k = len(images), len(anchors)
    values = metrics.compare(images.detach().cpu().repeat_interleave(k, dim=0),
                             torch.stack(list(anchors.values())).cpu().repeat(n, 1, 1), region,
                             data_range=torch.tensor(ranges * n, dtype=torch.float64))
    return [{name: {key: value[i * k + j] for key, value in values.items()} for j, name in enumerate(anchors)}
            for i in range(n)]


def evaluate_batch(problem: AttackProblem, deltas: Tensor, with_grad: bool) -> tuple[Tensor, Tensor | None, Tensor]:
    """Per-item objective values (B,), their gradients (B, ...) when asked, and the perturbed reconstructions:
    the reconstructions work image by image, so each item's gradient is its own."""
    if not with_grad:
        with torch.no_grad():
            perturbed = problem.recon(problem.perturbed_measurement(deltas))
            return problem.objective.value(perturbed), None, perturbed
    deltas = deltas.detach().requires_grad_(True)
    perturbed = problem.recon(problem.perturbed_measurement(deltas))
    values = problem.objective.value(perturbed)
    grads, = torch.autograd.grad(values.sum(), deltas)
    return values.detach(), grads, perturbed.detach()


def start_point(problem: AttackProblem, restart: int, generator: torch.Generator) -> Tensor:
    """A restart's δ_0: the warm start (first restart), a random point of the budget, or near 0."""
    delta = problem.threat.random_start(generator)
    if restart == 0 and problem.warm_start is not None:
        return problem.threat.project(problem.warm_start.to(delta.device, delta.dtype))
    if problem.optimizer.random_start or restart > 0:
        return delta
    return delta * NEAR_ZERO_START  # δ = 0 is a stationary point of every quadratic objective: nudge off it


class Ascent:
    """One problem's ascent, so that several can share batched evaluations (:mod:`.batched`).

    ``pending`` is the δ to evaluate next (None when done) and ``wants_grad`` whether its gradient is needed;
    :meth:`advance` takes that evaluation; :meth:`read` turns the steps taken since the last read into records.

    Step k of a restart is δ_k, the point after k updates, evaluated: N steps cost N + 1 forward and N backward
    passes, and the last update counts. The start δ_0 is not a candidate: the result is one of δ_1 … δ_N of some
    restart, the one with the largest objective (the first of equals).
    """

    def __init__(self, problem: AttackProblem, generator: torch.Generator, started: float,
                 only_restart: int | None = None):
        self.problem, self.generator, self.started = problem, generator, started
        config = problem.optimizer
        self.total = config.steps * config.restarts
        self.best_value, self.best_delta, self.history = None, None, []
        # index -1: the restart's start is pending. ``only_restart``: this ascent is that one restart (the restarts
        # then run side by side, each its own Ascent); its steps keep their numbers in the whole run.
        self.restart = only_restart or 0
        self.last_restart = config.restarts - 1 if only_restart is None else only_restart
        self.done, self.index = self.restart * config.steps, -1
        self._unread: list[tuple[int, int, Tensor, Tensor, float]] = []  # step, restart, value, ε, elapsed
        self._latest: tuple[Tensor, int] | None = None  # the newest perturbed reconstruction and its step
        self._begin_restart()

    def _begin_restart(self) -> None:
        problem = self.problem
        self.rule = AscentRule(problem.optimizer, problem.threat, problem.objective.interior_optimum)
        self.pending, self.wants_grad, self.index = start_point(problem, self.restart, self.generator), True, -1

    def _keep_if_best(self, value: Tensor, delta: Tensor) -> None:
        """The best point so far, on the device (no host read: NaN never wins, the first of equals stays)."""
        if self.best_delta is None:
            self.best_value, self.best_delta = value, delta.clone()
            return
        better = value > self.best_value
        self.best_value = torch.where(better, value, self.best_value)
        torch.where(better, delta, self.best_delta, out=self.best_delta)  # in place: no fresh 1-step allocation

    def advance(self, value: Tensor, grad: Tensor | None, perturbed: Tensor) -> None:
        problem, config = self.problem, self.problem.optimizer
        delta = self.pending
        if self.index >= 0:
            value = value.detach().reshape(())
            self._keep_if_best(value, delta)
            self.done += 1
            self._unread.append((self.done, self.restart, value, problem.threat.realised_size(delta),
                                 time.perf_counter() - self.started))
            self._latest = (perturbed, self.done)
        self.index += 1
        if self.index < config.steps:
            self.pending = problem.threat.project(self.rule.step(delta, grad, self.index, value)).detach()
            self.wants_grad = self.index < config.steps - 1
        elif self.restart < self.last_restart:
            self.restart += 1
            self._begin_restart()
        else:
            self.pending = None

    @property
    def unread(self) -> bool:
        return bool(self._unread)

    def read(self, images: bool, with_metrics: bool) -> list[AttackStep]:
        """The records of the steps taken since the last read, in one host transfer. The newest carries its
        images (when ``images`` and its step is a multiple of ``image_every``, or it is the last) and its metrics
        (when ``with_metrics``, or it is the last)."""
        if not self._unread:
            return []
        problem, last = self.problem, self.pending is None
        numbers = torch.stack([torch.stack([v.double(), e.double()]) for _, _, v, e, _ in self._unread]).cpu()
        records = [AttackStep(step=step, total=self.total, restart=restart, objective=float(pair[0]),
                              realised_eps=float(pair[1]), metrics={}, elapsed_s=elapsed)
                   for (step, restart, _, _, elapsed), pair in zip(self._unread, numbers)]
        self._unread = []
        perturbed, step = self._latest
        newest = records[-1]
        if with_metrics or last:
            newest.metrics = step_metrics(problem, perturbed)
        if last or (images and step % problem.image_every == 0):
            newest.perturbed = perturbed[0].cpu().numpy()
            newest.difference = (perturbed - problem.clean)[0].cpu().numpy()
        self.history.extend(record.summary() for record in records)
        return records


def read_all(ascents: list[Ascent], clock: PaintClock) -> list[list[AttackStep]]:
    """Every ascent's steps since the last read (metrics for all or none of them, as the clock says)."""
    due, started = clock.metrics_due(), time.perf_counter()
    read = [ascent.read(images=True, with_metrics=due) for ascent in ascents]
    if due:
        clock.metrics_took(started)
    return read
