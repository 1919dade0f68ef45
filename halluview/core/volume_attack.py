"""An attack on several slices of one scan, judged as fastMRI judges a volume.

Each slice is attacked on its own terms (the same settings, the slice's own measurement and seed; side by side as
one batch when one reconstruction serves them all), and the stacks of
clean, perturbed and equal-norm-noise reconstructions are then scored with fastMRI's volume metrics
(:mod:`~halluview.core.volume_metrics`: SSIM per slice with one data range for the volume, PSNR and NMSE over the
volume), next to the per-slice numbers each slice's own result carries.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, replace

import numpy as np
import torch

from .attacks.batched import finish_all, lockstep, stacked
from .attacks.memory import items_that_fit
from .attacks.run import AttackProblem, AttackResult, AttackStep, run_attack
from .environment import run_environment
from .experiment import Experiment
from .scan import Scan
from .volume_metrics import volume_metrics


def parse_slices(spec: str, n_slices: int) -> list[int]:
    """``all``, ``START:STOP`` (stop excluded, either may be empty) or ``I,J,K`` → slice indices, checked."""
    text = spec.strip()
    if text == "all":
        chosen = list(range(n_slices))
    elif ":" in text:
        start, _, stop = text.partition(":")
        try:
            chosen = list(range(n_slices))[slice(int(start) if start else None, int(stop) if stop else None)]
        except ValueError:
            raise ValueError(f"--slices takes all, START:STOP or I,J,K, not {spec!r}") from None
    else:
        try:
            chosen = [int(part) for part in text.split(",")]
        except ValueError:
            raise ValueError(f"--slices takes all, START:STOP or I,J,K, not {spec!r}") from None
    bad = [i for i in chosen if not 0 <= i < n_slices]
    if bad:
        raise ValueError(f"slice {bad[0]} is outside the scan's {n_slices} slices (0 … {n_slices - 1})")
    if len(set(chosen)) != len(chosen):
        raise ValueError(f"--slices names a slice twice: {spec!r}")
    if not chosen:
        raise ValueError(f"--slices {spec!r} selects no slice of the scan's {n_slices}")
    return chosen


@dataclass
class VolumeResult:
    """The per-slice results and fastMRI's volume metrics of their stacks."""

    slices: list[int]
    results: list[AttackResult]
    metrics: dict
    seconds: float = 0.0  # the whole volume's wall time (slices side by side overlap)
    side_by_side: bool = False  # whether the slices ran as one batch (in as many chunks as memory required)


def _stack(results: list[AttackResult], name: str) -> np.ndarray:
    return np.stack([getattr(result, name) for result in results])


def volume_summary(results: list[AttackResult], references: list[np.ndarray | None],
                   data_range: float | None) -> dict:
    """fastMRI's volume metrics of the perturbed and noise stacks against the clean stack, and of the perturbed and
    clean stacks against the reference stack (when every slice has one; ``data_range``: the file's ``max``)."""
    clean, perturbed, noise = (_stack(results, name) for name in ("clean", "perturbed", "noise_example"))
    summary = {"attack_vs_clean": volume_metrics(perturbed, clean).as_dict(),
               "noise_vs_clean": volume_metrics(noise, clean).as_dict()}
    if all(reference is not None for reference in references):
        reference = np.stack(references)
        summary["attack_vs_reference"] = volume_metrics(perturbed, reference, data_range).as_dict()
        summary["clean_vs_reference"] = volume_metrics(clean, reference, data_range).as_dict()
    return summary


def attack_volume(experiment: Experiment, scan: Scan, slices: list[int],
                  build: Callable | None = None) -> Generator[tuple[int, AttackStep], None, VolumeResult]:
    """Attack ``slices`` of ``scan``; yields (slice, step) and returns the :class:`VolumeResult`.

    The slices run as one batch, as many at a time as memory allows, when one reconstruction gives every slice's
    clean image (:func:`~halluview.core.attacks.batched.stacked`); otherwise one after another. Either way each
    slice keeps its own measurement, budget, seed and result. ``build(experiment, scan) -> AttackProblem`` defaults
    to :func:`~halluview.core.problem.build_problem`.
    """
    if build is None:
        from .problem import build_problem as build

    def problem_of(index: int) -> AttackProblem:
        return build(replace(experiment, source=replace(experiment.source, slice=index)), scan)

    results, references, data_range, batched = [], [], None, False
    started, pending = time.perf_counter(), list(slices)
    first = problem_of(pending[0])
    size = items_that_fit(first, first.threat.zeros(), len(pending)) if len(pending) > 1 else 1
    while pending:
        chunk, pending = pending[:size], pending[size:]
        problems = [first, *[problem_of(i) for i in chunk[1:]]] if first is not None else [problem_of(i) for i in chunk]
        first = None
        shared = stacked(problems) if len(problems) > 1 else None
        batched |= shared is not None
        chunk_results = yield from (_side_by_side(chunk, problems, shared) if shared is not None
                                    else _one_by_one(chunk, problems))
        results += chunk_results
        references += [None if p.reference is None else p.reference[0].cpu().numpy() for p in problems]
        data_range = problems[-1].data_range
    return VolumeResult(slices, results, volume_summary(results, references, data_range),
                        time.perf_counter() - started, batched)


def _one_by_one(chunk: list[int], problems: list[AttackProblem]):
    results = []
    for index, problem in zip(chunk, problems):
        attack = run_attack(problem)
        while True:
            try:
                step = next(attack)
            except StopIteration as stop:
                results.append(stop.value)
                break
            yield index, step
    return results


def _side_by_side(chunk: list[int], problems: list[AttackProblem], shared: AttackProblem):
    """The chunk's slices in lockstep, one batched evaluation of ``shared`` per step, then each finished."""
    started = time.perf_counter()
    environment = run_environment(shared.y.device)
    generators = [torch.Generator().manual_seed(p.seed) for p in problems]
    steps = lockstep(problems, generators, started, shared)
    while True:
        try:
            records = next(steps)
        except StopIteration as done:
            ascents = done.value
            break
        for index, record in zip(chunk, records):
            yield index, record
    return finish_all(problems, ascents, generators, started, environment)
