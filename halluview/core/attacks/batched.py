"""Several attacks evaluated as one batch: the ε values of a study (one measurement, several budgets) and the
slices of a volume (several measurements, one reconstruction).

Each attack keeps its own ascent (its step schedule, its best point, its random draws, its threat's radius), and
every forward and backward pass is shared: the perturbed measurements are stacked along the batch axis. The
reconstructions are applied image by image (networks in eval mode, classical solvers), so each attack's gradient
is its own; the results equal one-by-one runs up to rounding.
"""
from __future__ import annotations

import time
from collections.abc import Generator
from dataclasses import replace

import torch

from ..environment import run_environment
from .ascent import Ascent, AttackStep, PaintClock, evaluate_batch, read_all
from .memory import items_that_fit
from .objectives import Objective
from .run import AttackProblem, AttackResult, drive, finish


def same_but_budget(problems: list[AttackProblem]) -> bool:
    """Whether the problems can share evaluations: the same reconstruction and measurement (one
    :class:`~halluview.core.problem.Reconstruction` bound several times), objective, optimizer, surrogate and kind
    of budget."""
    first = problems[0]
    return all(p.recon is first.recon and p.y is first.y and p.objective.config == first.objective.config
               and p.optimizer == first.optimizer and p.config.get("surrogate") == first.config.get("surrogate")
               and p.threat.config.norm == first.threat.config.norm
               and p.threat.config.domain == first.threat.config.domain for p in problems)


def stacked(problems: list[AttackProblem]) -> AttackProblem | None:
    """The problems as one evaluation when they differ only in the measurement (a volume's slices): their y, clean
    images and objectives stacked along the batch axis, the first one's reconstruction applied to all. Proven, not
    assumed: the first reconstruction must give every problem's clean image from its y (the same network or solver,
    operator and mask). None when they cannot be stacked (then they run one by one)."""
    first = problems[0]
    if len(problems) < 2 or any(p.surrogate is not None or p.warm_start is not None for p in problems):
        return None
    if getattr(first.recon, "with_seed", None) is not None:  # a random reconstruction: each refit differs
        return None
    if not all(p.y.shape == first.y.shape and p.clean.shape == first.clean.shape and p.optimizer == first.optimizer
               and p.objective.config == first.objective.config and p.threat.config == first.threat.config
               and (p.objective.inside is None) == (first.objective.inside is None)
               and (p.objective.target is None) == (first.objective.target is None) for p in problems):
        return None
    y, clean = torch.cat([p.y for p in problems]), torch.cat([p.clean for p in problems])
    with torch.no_grad():
        again = first.recon(y)
    tolerance = 1e-4 * float(clean.abs().max())
    if again.shape != clean.shape or not bool(torch.all((again - clean).abs() <= tolerance)):
        return None
    region = None if first.objective.inside is None else torch.stack(
        [p.objective.inside.expand(clean.shape[1:]) for p in problems]) > 0.5
    target = None if first.objective.target is None else torch.cat([p.objective.target for p in problems])
    return replace(first, y=y, clean=clean, objective=Objective(first.objective.config, clean, region, target))


def lockstep(climbers: list[AttackProblem], generators: list[torch.Generator], started: float,
             shared: AttackProblem | None = None) -> Generator[list[AttackStep], None, list[Ascent]]:
    """The ascents of ``climbers``, one batched evaluation per step (of ``shared``: default the first climber,
    whose measurement they all share; :func:`stacked` for different measurements). Yields each step's records,
    one per ascent, in bursts at the paint rate; returns the ascents."""
    ascents = [Ascent(c, g, started) for c, g in zip(climbers, generators)]
    shared, clock = shared or climbers[0], PaintClock()
    while ascents[0].pending is not None:  # the same optimizer: every ascent has the same number of evaluations
        values, grads, perturbed = evaluate_batch(shared, torch.cat([a.pending for a in ascents]),
                                                  ascents[0].wants_grad)
        for i, ascent in enumerate(ascents):
            ascent.advance(values[i], None if grads is None else grads[i:i + 1], perturbed[i:i + 1])
        if ascents[0].unread and (ascents[0].pending is None or clock.read_due()):
            for records in zip(*read_all(ascents, clock)):
                yield list(records)
    return ascents


def run_batched(problems: list[AttackProblem], on_step=None) -> list[AttackResult]:
    """Every problem's attack, in lockstep, one batched evaluation per step; their results in order.

    As many as fit in memory together run at once (:func:`~.memory.items_that_fit`), the rest in further batches.
    ``problems`` must share everything but the budget (:func:`same_but_budget`); transfer attacks climb their
    surrogates together and are then evaluated on their targets one by one. ``on_step(records)`` is called for
    every step with the ascents' records, in bursts at the paint rate (raise from it to stop).
    """
    if not same_but_budget(problems):
        raise ValueError("batched attacks must share the reconstruction, measurement, objective and optimizer")
    started = time.perf_counter()
    environment = run_environment(problems[0].y.device)
    generators = [torch.Generator().manual_seed(p.seed) for p in problems]
    climbers = [p.surrogate or p for p in problems]
    size = items_that_fit(climbers[0], climbers[0].threat.zeros(), len(problems))  # as many as memory allows
    ascents = []
    for first in range(0, len(problems), size):
        ascents += drive(lockstep(climbers[first:first + size], generators[first:first + size], started), on_step)
    return finish_all(problems, ascents, generators, started, environment)


def finish_all(problems: list[AttackProblem], ascents: list[Ascent], generators: list[torch.Generator],
               started: float, environment: dict) -> list[AttackResult]:
    """Each problem's result from its ascent's worst case (:func:`~.run.finish`), with the run's environment."""
    results = []
    for problem, ascent, generator in zip(problems, ascents, generators):
        result = finish(problem, ascent.best_delta, ascent.history, started, generator)
        result.environment = environment
        results.append(result)
    return results
