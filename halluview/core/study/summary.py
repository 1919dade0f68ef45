"""What a study's tidy table says: ΔSSIM / ΔPSNR against ε per reconstruction with their spread over slices and
seeds (the data of Han et al.'s fig. 3), and the verdict in words per reconstruction."""
from __future__ import annotations

import math
from collections import defaultdict


def _number(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def delta_curves(rows: list[dict], metric: str = "ssim") -> dict:
    """{(recon, kind): {"eps": [...], "mean": [...], "low": [...], "high": [...], "n": [...]}} over the finished
    rows. ``metric`` "ssim": ΔSSIM = 1 − SSIM(perturbed, clean); "psnr": PSNR(perturbed, clean) itself (lower is
    a larger change). ``low`` / ``high`` are the smallest and largest over slices and seeds."""
    groups = defaultdict(lambda: defaultdict(list))
    for row in rows:
        if row.get("status") != "done":
            continue
        value = _number(row.get(f"vs_clean_{metric}"))
        if metric == "ssim":
            value = 1.0 - value
        if math.isfinite(value):
            groups[(row["recon"], row["kind"])][_number(row["eps"])].append(value)
    curves = {}
    for group, by_eps in groups.items():
        eps = sorted(by_eps)
        curves[group] = {"eps": eps, "mean": [sum(by_eps[e]) / len(by_eps[e]) for e in eps],
                         "low": [min(by_eps[e]) for e in eps], "high": [max(by_eps[e]) for e in eps],
                         "n": [len(by_eps[e]) for e in eps]}
    return curves


def verdict_lines(rows: list[dict], eps: float) -> list[str]:
    """Per reconstruction at ``eps``: how many times the equal-norm noise's change the attack caused (mean over
    slices and seeds), e.g. "unet-mri-4x: changed 6.7× noise at ε = 2 %"."""
    changes = defaultdict(lambda: {"attack": [], "noise": []})
    for row in rows:
        if row.get("status") == "done" and math.isclose(_number(row["eps"]), eps):
            changes[row["recon"]][row["kind"]].append(_number(row["change_l2"]))
    lines = []
    for recon in sorted(changes):
        attack, noise = changes[recon]["attack"], changes[recon]["noise"]
        if not attack or not noise or not sum(noise) > 0:
            lines.append(f"{recon}: no finished cell at ε = {eps:.3g}")
            continue
        ratio = (sum(attack) / len(attack)) / (sum(noise) / len(noise))
        lines.append(f"{recon}: changed {ratio:.1f}× noise at ε = {100 * eps:.3g} % ({len(attack)} cells)")
    return lines
