"""The study page's table of its analysis cells: per analysis and reconstruction, the means of the numbers that
answer each probe's question (over slices and seeds), and the small-feature thresholds in words."""
from __future__ import annotations

import math
from collections import defaultdict

SUMMARY_COLUMNS = {
    "rotation": (("worst_angle_deg", "worst angle (°)", 2), ("damage_psnr_drop_db", "PSNR lost there (dB)", 2),
                 ("damage_ssim_drop", "SSIM lost there", 4), ("damage_mse_ratio", "error × at 0°", 3)),
    "features": (("recovery", "mean recovery", 2), ("detected", "share detected", 2)),
    "invariance": (("input_rms_change", "input change (RMS)", 3), ("output_rms_change", "output change (RMS)", 4),
                   ("ratio", "input ÷ output", 1), ("null_space_share", "null-space share of the input change", 3)),
    "nullspace": (("null_space_share", "null-space share of the error", 3), ("error_rms", "error (RMS)", 4),
                  ("regions", "hallucination regions", 1), ("hallucination_area_px", "their area (px)", 0)),
}
"""Analysis → (column, words, digits) the page shows, as means over the analysis's rows."""


def _number(value) -> float:
    if isinstance(value, bool) or value in ("True", "False"):
        return 1.0 if value in (True, "True") else 0.0
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _mean(values: list[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return sum(finite) / len(finite) if finite else math.nan


def analysis_rows(rows: list[dict]) -> list[dict]:
    return [r for r in rows if r.get("kind") == "analysis" and r.get("status") == "done"]


def _thresholds(rows: list[dict]) -> str:
    """The 50 % contrast threshold per disc size, in words ("2 px: 0.05, 6 px: ≤ 0.02, 1 px: not reached")."""
    parts = []
    for row in rows:
        if row.get("row") != "threshold" or row.get("shape") != "disc":
            continue
        value, note = _number(row.get("threshold_contrast")), str(row.get("threshold_note") or "")
        words = "not reached" if not math.isfinite(value) else (f"≤ {value:g}" if note.startswith("at or below")
                                                                 else f"{value:.3g}")
        parts.append(f"{row.get('size_px')} px: {words}")
    return ", ".join(dict.fromkeys(parts))


def analysis_summary(rows: list[dict]) -> list[dict]:
    """One entry per analysis (its label) and reconstruction: {"analysis", "recon", "cells", "values": {words:
    (mean, digits)}, "thresholds"}, in the table's order."""
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for row in analysis_rows(rows):
        groups[(str(row.get("analysis", "")), str(row.get("recon", "")))].append(row)
    out = []
    for (label, recon), members in groups.items():
        name = label.split(" ", 1)[0]
        scored = [r for r in members if r.get("row", "cell") == "cell"] if name == "features" else members
        values = {words: (_mean([_number(r.get(column)) for r in scored]), digits)
                  for column, words, digits in SUMMARY_COLUMNS.get(name, ())}
        out.append({"analysis": label, "recon": recon, "cells": len({r.get("key") for r in members}),
                    "values": values, "thresholds": _thresholds(members) if name == "features" else ""})
    return out
