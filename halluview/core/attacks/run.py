"""The one attack loop behind the GUI, the CLI and sweeps: a generator of step records that returns the result.

    problem = build_problem(experiment)          # halluview.core.experiment
    for step in (attack := run_attack(problem)): # each: AttackStep with CPU numpy only (every step, in bursts)
        ...                                      # stop iterating to cancel
"""
from __future__ import annotations

import time
import weakref
from dataclasses import dataclass, field, replace
from typing import Generator

import numpy as np
import torch
from torch import Tensor

from ..environment import run_environment
from ..recon.test_time import deployment
from .ascent import Ascent, AttackStep, PaintClock, batch_metrics, evaluate_batch, read_all, step_metrics
from .attack_problem import AttackProblem
from .baseline import NoiseBaseline, noise_baseline, refit_spread, region_change_l2
from .memory import items_that_fit
from .precision import precision_effect
from .verdict import Verdict, assess

__all__ = ["Ascent", "AttackProblem", "AttackResult", "AttackStep", "finish", "realised_eps", "run_attack",
           "run_to_end", "step_metrics"]


@dataclass
class AttackResult:
    """The worst case found, with the history and everything needed to repeat it."""

    delta: np.ndarray
    perturbed: np.ndarray
    clean: np.ndarray
    perturbation_image: np.ndarray
    metrics: dict
    noise_metrics: dict
    norms: dict
    history: list[dict]
    config: dict
    seconds: float
    objectives: dict = field(default_factory=dict)
    verdict: Verdict | None = None
    refit_spread: dict | None = None
    environment: dict = field(default_factory=dict)
    noise_example: np.ndarray | None = None  # the reconstruction under the first equal-norm noise draw
    test_time: dict | None = None  # test-time training: its record, and the network re-adapted on y + δ
    clinical: dict = field(default_factory=dict)  # segmentation used, where MaxSRMSE is, the changes' spectra
    precision: dict | None = None  # bf16 / compiled runs: the accelerated vs the fp32 network on y + δ


def realised_eps(problem: AttackProblem, delta: Tensor) -> float:
    """‖δ‖ in the threat's own terms (see :meth:`Threat.realised_eps`)."""
    return problem.threat.realised_eps(delta)


def _image_delta(problem: AttackProblem, delta: Tensor) -> np.ndarray:
    """What to paint for δ: the image-domain δ, or the coil-summed log-magnitude of a measurement δ."""
    if problem.threat.config.domain != "measurement":
        return delta[0].abs().cpu().numpy() if delta.is_complex() else delta[0].cpu().numpy()
    magnitude = delta[0].abs()
    if magnitude.dim() == 3:
        magnitude = torch.sqrt(torch.sum(magnitude ** 2, dim=0))
    return torch.log1p(magnitude / (magnitude.max() + 1e-30) * 1e3).cpu().numpy()


def run_attack(problem: AttackProblem) -> Generator[AttackStep, None, AttackResult]:
    """Maximise the objective over the threat's budget, yielding an :class:`AttackStep` every step.

    The worst case over all steps and restarts is returned. Deterministic for a seed on the CPU. Stop iterating
    (or ``close()`` the generator) to cancel. With a ``surrogate`` the steps are the surrogate's and the result
    is the target's response to the surrogate's worst case.
    """
    started = time.perf_counter()
    environment = run_environment(problem.y.device)
    generator = torch.Generator().manual_seed(problem.seed)
    best_delta, history = yield from _optimise(problem.surrogate or problem, generator, started)
    result = finish(problem, best_delta, history, started, generator)
    result.environment = environment
    return result


def _evaluate(problem: AttackProblem, delta: Tensor, with_grad: bool) -> tuple[Tensor, Tensor | None, Tensor]:
    """The objective at ``delta`` (a 0-dim tensor), its gradient (when asked) and the perturbed reconstruction."""
    values, grad, perturbed = evaluate_batch(problem, delta, with_grad)
    return values.sum(), grad, perturbed


def _optimise(problem: AttackProblem, generator: torch.Generator,
              started: float) -> Generator[AttackStep, None, tuple[Tensor, list[dict]]]:
    """The ascent itself: yields every step (read on the host at the paint rate), returns (worst-case δ, step
    summaries). Restarts run side by side, as one batch, when their evaluations fit in memory together."""
    restarts = problem.optimizer.restarts
    if restarts > 1 and items_that_fit(problem, problem.threat.zeros(), restarts) == restarts:
        return (yield from _optimise_side_by_side(problem, generator, started))
    ascent, clock = Ascent(problem, generator, started), PaintClock()
    while ascent.pending is not None:
        ascent.advance(*_evaluate(problem, ascent.pending, ascent.wants_grad))
        if ascent.unread and (ascent.pending is None or clock.read_due()):
            yield from read_all([ascent], clock)[0]
    return ascent.best_delta, ascent.history


def _optimise_side_by_side(problem: AttackProblem, generator: torch.Generator,
                           started: float) -> Generator[AttackStep, None, tuple[Tensor, list[dict]]]:
    """Every restart at once, each its own ascent, evaluated as one batch: the same random starts (drawn in the
    same order) and the same worst case as one restart after another, up to rounding."""
    ascents = [Ascent(problem, generator, started, only_restart=r) for r in range(problem.optimizer.restarts)]
    clock, completed = PaintClock(), 0
    while ascents[0].pending is not None:
        values, grads, perturbed = evaluate_batch(problem, torch.cat([a.pending for a in ascents]),
                                                  ascents[0].wants_grad)
        for i, ascent in enumerate(ascents):
            ascent.advance(values[i], None if grads is None else grads[i:i + 1], perturbed[i:i + 1])
        if ascents[0].unread and (ascents[0].pending is None or clock.read_due()):
            for records in zip(*read_all(ascents, clock)):
                for record in records:
                    completed += 1
                    record.completed = completed
                    yield record
    bests = torch.stack([torch.nan_to_num(a.best_value.double(), nan=-torch.inf) for a in ascents])
    best = int(torch.argmax(bests))  # the first of equals: the earliest restart, as one after another
    return ascents[best].best_delta, [h for ascent in ascents for h in ascent.history]


def finish(problem: AttackProblem, delta: Tensor, history: list[dict], started: float,
           generator: torch.Generator | None = None) -> AttackResult:
    """The result for ``delta``: its reconstruction, metrics, the equal-norm noise baseline, raw norms, verdict.
    Every number comes from the exact fp32 network; an accelerated run records how far its network was off."""
    generator = generator or torch.Generator().manual_seed(problem.seed)
    precision = precision_effect(problem, delta)
    problem = exact(problem)
    with torch.no_grad():
        perturbed = problem.recon(problem.perturbed_measurement(delta))
        objectives = {"attack": float(problem.objective.value(perturbed).sum()),
                      "clean": float(problem.objective.value(problem.clean).sum())}
    noise = noise_baseline(problem, delta, generator)
    objectives["noise_mean"] = float(np.mean(noise.objectives))
    norms = _norms(problem, delta, perturbed, noise)
    clinical_attack, clinical_noise, clinical = _clinical(problem, perturbed, noise.responses, norms)
    spread = refit_spread(problem)
    if spread is not None:  # the attack's change in units of the reconstruction's own variation
        spread["attack_change_ratio"] = norms["recon_change_l2"] / max(spread["recon_change_l2_mean"], 1e-30)
    verdict = _verdict(problem, objectives, norms, spread)
    return AttackResult(
        delta=delta[0].cpu().numpy(), perturbed=perturbed[0].cpu().numpy(), clean=problem.clean[0].cpu().numpy(),
        perturbation_image=_image_delta(problem, delta),
        metrics=_joined(step_metrics(problem, perturbed), clinical_attack),
        noise_metrics=_joined(_mean_metrics(batch_metrics(problem, torch.cat(noise.responses))), clinical_noise),
        norms=norms, clinical=clinical,
        history=history, config=problem.config, seconds=time.perf_counter() - started,
        objectives=objectives, verdict=verdict, refit_spread=spread, noise_example=noise.responses[0][0].cpu().numpy(),
        test_time=deployment(problem, delta),  # hook: test-time training re-adapted on y + δ (recon.test_time)
        precision=precision)


def exact(problem: AttackProblem) -> AttackProblem:
    """The problem with its exact fp32 network (:class:`~..recon.acceleration.AcceleratedRecon` keeps it)."""
    fp32 = getattr(problem.recon, "exact", None)
    return problem if fp32 is None else replace(problem, recon=fp32)


def _norms(problem: AttackProblem, delta: Tensor, perturbed: Tensor, noise: NoiseBaseline) -> dict:
    """Sizes of δ and of the noise in both norms, and of the changes they cause (globally and in the region)."""
    change = perturbed - problem.clean
    norms = {
        "y_l2": float(torch.linalg.vector_norm(problem.y)),
        "delta_l2": float(torch.linalg.vector_norm(delta)),
        "delta_linf": float(delta.abs().max()),
        "realised_eps": realised_eps(problem, delta),
        "noise_l2": noise.l2,
        "noise_linf": noise.linf,
        "noise_realised_eps": noise.realised_eps,
        "recon_change_l2": float(torch.linalg.vector_norm(change)),
        "noise_recon_change_l2_mean": float(np.mean([float(torch.linalg.vector_norm(r - problem.clean))
                                                     for r in noise.responses])),
        "clean_recon_l2": float(torch.linalg.vector_norm(problem.clean)),
    }
    if problem.region is not None:
        norms["recon_change_l2_in"] = region_change_l2(change, problem.region)
        norms["noise_recon_change_l2_in_mean"] = float(np.mean([region_change_l2(r - problem.clean, problem.region)
                                                                for r in noise.responses]))
    return norms


def _clinical(problem: AttackProblem, perturbed: Tensor, responses: list[Tensor],
              norms: dict) -> tuple[dict, dict, dict]:
    """VIF, segment RMSE and RFS of the attack and (mean) of the noise draws, vs clean and vs reference, and the
    high-frequency share of their changes (added to ``norms``): once per attack, never per step."""
    from ..quality.attack_metrics import clinical_of_attack, spectral_of_attack

    reference = clinical_reference(problem)
    attacked, draws = _image(perturbed), [_image(r) for r in responses]
    values = clinical_of_attack(reference, attacked, draws)
    spectral, spectra = spectral_of_attack(reference.anchors["vs_clean"][0], attacked, draws)
    norms.update(spectral)
    return values["attack"], values["noise"], {"segmentation": reference.segments.describe(),
                                               "worst_segment": values["worst_segment"], "spectrum": spectra}


def _image(tensor: Tensor) -> np.ndarray:
    return tensor[0].detach().cpu().double().numpy()


_references: dict = {}  # id(clean) -> (clean, reference, what else it depends on, the reference side), weakly


def clinical_reference(problem: AttackProblem):
    """The reference side of the clinical metrics (:class:`~..quality.attack_metrics.ClinicalReference`), made
    once per clean reconstruction, reference, region and segment source: the segments and RFS's grey-level range
    come from the reference (the clean reconstruction without one) or the experiment's label file."""
    from ..quality.attack_metrics import ClinicalReference, attack_segments

    region = None if problem.region is None else problem.region.cpu().numpy()
    depends = (problem.data_range, None if region is None else region.tobytes(), problem.config.get("segments"),
               (problem.config.get("source") or {}).get("slice"))
    known = _references.get(id(problem.clean))
    if known is not None and known[0]() is problem.clean and known[1]() is problem.reference and known[2] == depends:
        return known[3]
    clean = _image(problem.clean)
    anchors = {"vs_clean": (clean, float(clean.max()))}
    if problem.reference is not None:
        reference = _image(problem.reference)
        anchors["vs_reference"] = (reference, problem.data_range or float(reference.max()))
    base, base_range = anchors.get("vs_reference", anchors["vs_clean"])
    made = ClinicalReference(anchors, attack_segments(problem.config, base, base_range), region,
                             (float(base.min()), float(base.max())))
    for key in [key for key, entry in _references.items() if entry[0]() is None] + list(_references)[:-7]:
        _references.pop(key, None)  # their clean reconstructions are gone, or the oldest beyond 8
    kept = (lambda: None) if problem.reference is None else weakref.ref(problem.reference)
    _references[id(problem.clean)] = (weakref.ref(problem.clean), kept, depends, made)
    return made


def _joined(metrics_by_anchor: dict, extra_by_anchor: dict) -> dict:
    """Each anchor's SSIM / PSNR / MSE / NMSE followed by its clinical metrics."""
    return {anchor: {**values, **extra_by_anchor.get(anchor, {})} for anchor, values in metrics_by_anchor.items()}


def _verdict(problem: AttackProblem, objectives: dict, norms: dict, spread: dict | None) -> Verdict:
    kind = problem.objective.config.kind
    suffix = "_in" if kind != "untargeted" and "recon_change_l2_in" in norms else ""
    changes = {"attack": norms["recon_change_l2" + suffix], "noise": norms[f"noise_recon_change_l2{suffix}_mean"]}
    if spread is not None:
        spread = {**spread, "change": spread.get("recon_change_l2" + suffix + "_mean",
                                                 spread["recon_change_l2_mean"])}
    return assess(kind, objectives, changes, norms["realised_eps"] / problem.threat.config.eps, spread)


def _mean_metrics(draws: list[dict]) -> dict:
    """Average each metric over the noise draws (same nesting as one draw)."""
    return {group: {key: float(np.mean([d[group][key] for d in draws])) for key in draws[0][group]}
            for group in draws[0]}


def run_to_end(problem: AttackProblem, on_step=None) -> AttackResult:
    """Drive :func:`run_attack` to completion, calling ``on_step(step)`` for each record; return the result."""
    return drive(run_attack(problem), on_step)


def drive(generator: Generator, on_item=None):
    """Run ``generator`` to its end, calling ``on_item(item)`` for each item it yields; return what it returns."""
    while True:
        try:
            item = next(generator)
        except StopIteration as stop:
            return stop.value
        if on_item is not None:
            on_item(item)
