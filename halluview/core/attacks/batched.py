"""Several attacks on one reconstruction of one measurement, evaluated as one batch: the ε values of a study.

The attacks differ only in their budget (and so in their threat's radius); each keeps its own ascent (its step
schedule, its best point, its random draws), and every forward and backward pass is shared: the perturbed
measurements are stacked along the batch axis. The reconstructions are applied image by image (networks in eval
mode, classical solvers), so each attack's gradient is its own; the results equal one-by-one runs up to rounding.
"""
from __future__ import annotations

import time

import torch

from ..environment import run_environment
from .ascent import Ascent, PaintClock, evaluate_batch, read_all
from .memory import items_that_fit
from .run import AttackProblem, AttackResult, finish


def same_but_budget(problems: list[AttackProblem]) -> bool:
    """Whether the problems can share evaluations: the same reconstruction and measurement (one
    :class:`~halluview.core.problem.Reconstruction` bound several times), objective, optimizer, surrogate and kind
    of budget."""
    first = problems[0]
    return all(p.recon is first.recon and p.y is first.y and p.objective.config == first.objective.config
               and p.optimizer == first.optimizer and p.config.get("surrogate") == first.config.get("surrogate")
               and p.threat.config.norm == first.threat.config.norm
               and p.threat.config.domain == first.threat.config.domain for p in problems)


def _read_all(ascents: list[Ascent], clock: PaintClock, on_step) -> None:
    """Every ascent's steps since the last read; ``on_step`` gets them step by step, one record per ascent."""
    read = read_all(ascents, clock)
    if on_step is not None:
        for records in zip(*read):
            on_step(list(records))


def _lockstep(climbers: list[AttackProblem], generators: list[torch.Generator], started: float,
              on_step) -> list[Ascent]:
    """The ascents of ``climbers``, one batched evaluation per step."""
    ascents = [Ascent(c, g, started) for c, g in zip(climbers, generators)]
    shared, clock = climbers[0], PaintClock()
    while ascents[0].pending is not None:  # the same optimizer: every ascent has the same number of evaluations
        values, grads, perturbed = evaluate_batch(shared, torch.cat([a.pending for a in ascents]),
                                                  ascents[0].wants_grad)
        for i, ascent in enumerate(ascents):
            ascent.advance(values[i], None if grads is None else grads[i:i + 1], perturbed[i:i + 1])
        if ascents[0].unread and (ascents[0].pending is None or clock.read_due()):
            _read_all(ascents, clock, on_step)
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
        ascents += _lockstep(climbers[first:first + size], generators[first:first + size], started, on_step)
    results = []
    for problem, ascent, generator in zip(problems, ascents, generators):
        result = finish(problem, ascent.best_delta, ascent.history, started, generator)
        result.environment = environment
        results.append(result)
    return results
