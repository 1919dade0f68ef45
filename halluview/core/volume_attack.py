"""An attack on several slices of one scan, judged as fastMRI judges a volume.

Each slice is attacked on its own (the same settings, the slice's own measurement and seed), and the stacks of
clean, perturbed and equal-norm-noise reconstructions are then scored with fastMRI's volume metrics
(:mod:`~halluview.core.volume_metrics`: SSIM per slice with one data range for the volume, PSNR and NMSE over the
volume), next to the per-slice numbers each slice's own result carries.
"""
from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, replace

import numpy as np

from .attacks.run import AttackResult, AttackStep, run_attack
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

    @property
    def seconds(self) -> float:
        return float(sum(result.seconds for result in self.results))


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
    """Attack ``slices`` of ``scan`` one after another; yields (slice, step) and returns the :class:`VolumeResult`.

    ``build(experiment, scan) -> AttackProblem`` defaults to :func:`~halluview.core.problem.build_problem`.
    """
    if build is None:
        from .problem import build_problem as build
    results, references, data_range = [], [], None
    for index in slices:
        problem = build(replace(experiment, source=replace(experiment.source, slice=index)), scan)
        attack = run_attack(problem)
        while True:
            try:
                step = next(attack)
            except StopIteration as stop:
                results.append(stop.value)
                break
            yield index, step
        references.append(None if problem.reference is None else problem.reference[0].cpu().numpy())
        data_range = problem.data_range
    return VolumeResult(slices, results, volume_summary(results, references, data_range))
