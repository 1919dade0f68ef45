"""Segment RMSE (Eulig et al.'s proposal for small structures that global metrics average away):
SRMSE(x, y; s) = sqrt(Σ m_s (x − y)² / Σ m_s) for each segment s, with MeanSRMSE and MaxSRMSE over the segments."""
from __future__ import annotations

import numpy as np


def segment_rmse(x: np.ndarray, ref: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(segment ids ascending, SRMSE of each, image units) over the non-zero labels; empty arrays when none."""
    flat = labels.ravel()
    inside = flat != 0
    ids, inverse = np.unique(flat[inside], return_inverse=True)
    squared = ((np.asarray(x, np.float64) - np.asarray(ref, np.float64)).ravel()[inside]) ** 2
    sums = np.bincount(inverse, weights=squared, minlength=len(ids))
    counts = np.bincount(inverse, minlength=len(ids))
    return ids, np.sqrt(sums / np.maximum(counts, 1))


def srmse_summary(x: np.ndarray, ref: np.ndarray, labels: np.ndarray) -> dict:
    """{"srmse_mean", "srmse_max" (image units), "srmse_max_segment" (its label)}; NaN / -1 without segments."""
    ids, values = segment_rmse(x, ref, labels)
    if not len(ids):
        return {"srmse_mean": float("nan"), "srmse_max": float("nan"), "srmse_max_segment": -1}
    worst = int(np.argmax(values))
    return {"srmse_mean": float(values.mean()), "srmse_max": float(values[worst]),
            "srmse_max_segment": int(ids[worst])}
