"""What an attack is judged against: random noise of the same size in the threat's own norm, and, for
reconstructions that are refitted to every measurement (the Deep Decoder), their own variation between refits.

- L2 threats: noise with the same L2 norm as δ per budget group (the whole measurement, or each coil).
- L∞ threats: random signs (random phases for complex entries) at δ's L∞ norm on every entry of the support.
- Patch threats: the same, inside the patch only.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor


@dataclass
class NoiseBaseline:
    """Equal-norm noise draws, the reconstruction's response to each, and their norms (means over the draws)."""

    responses: list[Tensor]
    objectives: list[float]
    l2: float
    linf: float
    realised_eps: float


def region_change_l2(change: Tensor, region: Tensor | None) -> float | None:
    """‖Δ‖₂ inside the region (None without one)."""
    if region is None:
        return None
    return float(torch.linalg.vector_norm(change * region.to(change.dtype)))


def noise_baseline(problem, delta: Tensor, generator: torch.Generator) -> NoiseBaseline:
    """``problem.noise_draws`` random perturbations as large as ``delta`` in the threat's norm, on its support
    (drawn one after another, as one-by-one runs draw them), reconstructed in batches of :func:`noise_batch`."""
    draws = [problem.threat.random_like_norm(delta, generator) for _ in range(problem.noise_draws)]
    noise = torch.cat(draws)
    with torch.no_grad():
        size, first = noise_batch(problem, noise[:1], len(draws))
        responses = torch.cat([first] + [problem.recon(problem.perturbed_measurement(noise[i:i + size]))
                                         for i in range(1, len(draws), size)])
        objectives = problem.objective.value(responses).reshape(len(draws)).double().cpu().tolist()
        flat = noise.reshape(len(draws), -1)
        l2 = torch.linalg.vector_norm(flat, dim=1).double().cpu().tolist()
        linf = flat.abs().amax(dim=1).double().cpu().tolist()
    eps = [problem.threat.realised_eps(d) for d in draws]
    return NoiseBaseline([responses[i:i + 1] for i in range(len(draws))], objectives, float(np.mean(l2)),
                         float(np.mean(linf)), float(np.mean(eps)))


def noise_batch(problem, first: Tensor, wanted: int) -> tuple[int, Tensor]:
    """How many noise draws to reconstruct at once, and the first draw's reconstruction (made to find out).

    A batch must not raise the attack's peak memory above its gradient steps' own: on a GPU as many as the
    first draw's measured peak allows within the activations one gradient step keeps
    (:func:`~.memory.saved_bytes`); on the CPU one at a time, where a batch is no faster (4 draws of the U-Net at
    320²: 469 ms batched, 388 ms one by one) and four at once raised the attack's peak to 1.9× a gradient step's."""
    device = first.device
    if device.type != "cuda" or wanted <= 1:
        return 1, problem.recon(problem.perturbed_measurement(first))
    from .memory import saved_bytes

    with torch.enable_grad():
        budget = saved_bytes(problem, first)
    torch.cuda.synchronize(device)
    before = torch.cuda.memory_allocated(device)
    torch.cuda.reset_peak_memory_stats(device)
    response = problem.recon(problem.perturbed_measurement(first))
    torch.cuda.synchronize(device)
    per_draw = max(torch.cuda.max_memory_allocated(device) - before, 1)
    return int(max(1, min(wanted - 1, budget // per_draw))), response


REFIT_SEEDS = (1, 2, 3)
"""Other random starts of a refitted reconstruction, to measure its own variation at δ = 0."""


def refit_spread(problem) -> dict | None:
    """How much a reconstruction that is fitted afresh to every measurement varies with its random start alone.

    For modules with ``with_seed(seed)`` (the Deep Decoder): the clean measurement is refitted from other starts,
    and the mean change of the result against the clean reconstruction is returned (globally and in the region).
    None for deterministic reconstructions.
    """
    with_seed = getattr(problem.recon, "with_seed", None)
    if with_seed is None:
        return None
    seed = getattr(problem.recon, "seed", 0)
    changes, in_region = [], []
    with torch.no_grad():
        for offset in REFIT_SEEDS:
            refit = with_seed(seed + offset)(problem.y)
            changes.append(float(torch.linalg.vector_norm(refit - problem.clean)))
            inside = region_change_l2(refit - problem.clean, problem.region)
            if inside is not None:
                in_region.append(inside)
    spread = {"refits": len(REFIT_SEEDS), "recon_change_l2_mean": float(np.mean(changes))}
    if in_region:
        spread["recon_change_l2_in_mean"] = float(np.mean(in_region))
    return spread
