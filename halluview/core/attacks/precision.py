"""What computing the attacked network faster (bf16, torch.compile, channels-last) did to a run's numbers.

The attack climbs the gradients of the accelerated network; its final numbers come from the exact fp32 module
(:attr:`~halluview.core.recon.acceleration.AcceleratedRecon.exact`). :func:`precision_effect` reconstructs the
final y + δ both ways and reports how far the metrics against the clean reconstruction moved (goal for bf16:
|ΔSSIM| ≤ :data:`~halluview.core.recon.acceleration.SSIM_GOAL`).
"""
from __future__ import annotations

import math

import torch
from torch import Tensor

from .. import metrics
from ..recon.acceleration import SSIM_GOAL


def precision_effect(problem, delta: Tensor) -> dict | None:
    """The accelerated and the exact fp32 reconstruction of y + δ, compared through their metrics against the
    clean reconstruction (SSIM / PSNR with data range = the clean image's maximum, :mod:`halluview.core.metrics`).

    Parameters
    ----------
    problem : AttackProblem
        Its ``recon`` (an :class:`~halluview.core.recon.acceleration.AcceleratedRecon` when the run is
        accelerated), ``clean`` (B, H, W) and ``perturbed_measurement``.
    delta : Tensor
        The perturbation found, shaped as the threat draws it.

    Returns
    -------
    dict or None
        None for a plain fp32 run. Otherwise the settings (precision, compile, channels_last) and
        ssim_difference = SSIM(accelerated, clean) − SSIM(fp32, clean), psnr_difference_db (the same in dB; None
        when a PSNR is infinite), max_abs_difference = max |accelerated − fp32| (image units), and
        within_goal (|ssim_difference| ≤ SSIM_GOAL). For a batch, the image with the largest |ΔSSIM|.
    """
    recon = problem.recon
    exact, settings = getattr(recon, "exact", None), getattr(recon, "settings", None)
    if exact is None or settings is None or settings.plain:
        return None
    with torch.no_grad():
        y = problem.perturbed_measurement(delta.detach())
        fast, fp32 = recon(y).float(), exact(y).float()
    clean = problem.clean.float().expand_as(fp32)
    ssim_gap = (metrics.ssim(fast, clean) - metrics.ssim(fp32, clean)).reshape(-1)
    psnr_gap = (metrics.psnr(fast, clean) - metrics.psnr(fp32, clean)).reshape(-1)
    worst = int(ssim_gap.abs().argmax())
    psnr_db = float(psnr_gap[worst])
    return {"precision": settings.precision, "compile": settings.compile, "channels_last": settings.channels_last,
            "ssim_difference": float(ssim_gap[worst]),
            "psnr_difference_db": psnr_db if math.isfinite(psnr_db) else None,
            "max_abs_difference": float((fast - fp32).abs().max()),
            "within_goal": bool(abs(float(ssim_gap[worst])) <= SSIM_GOAL)}


def precision_line(effect: dict) -> str:
    """:func:`precision_effect`'s record in one line, e.g. "bf16 vs fp32 on y + δ: ΔSSIM −1.2e-04 (goal ±1e-03),
    ΔPSNR −0.01 dB, max |Δ| 3.4e-03"."""
    what = "bf16" if effect["precision"] == "bf16" else "accelerated"
    psnr = effect["psnr_difference_db"]
    psnr_words = f"{psnr:+.2f} dB" if psnr is not None else "n/a (infinite PSNR)"
    return (f"{what} vs fp32 on y + δ: ΔSSIM {effect['ssim_difference']:+.1e} (goal ±{SSIM_GOAL:.0e}), "
            f"ΔPSNR {psnr_words}, max |Δ| {effect['max_abs_difference']:.1e}")
