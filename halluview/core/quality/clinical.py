"""The clinical metrics of one reconstruction against one reference, in one call: VIF, segment RMSE, radiomic
feature similarity, globally and over the segments that touch a region."""
from __future__ import annotations

import numpy as np
import torch

from .radiomics import feature_similarity
from .segments import Segmentation
from .srmse import segment_rmse, srmse_summary
from .vif import MIN_SIDE, vif_p

CLINICAL_NAMES = ("vif", "srmse_mean", "srmse_max", "rfs")
"""The metric names, in display order; with a region also "srmse_mean_in", "srmse_max_in", "rfs_in"."""
REGION_NAMES = ("srmse_mean", "srmse_max", "rfs")


def touching(labels: np.ndarray, region: np.ndarray) -> np.ndarray:
    """``labels`` with only the segments that have a pixel in ``region`` (bool (H, W)) kept: whole segments."""
    inside = np.unique(labels[np.asarray(region, bool)])
    return np.where(np.isin(labels, inside[inside != 0]), labels, 0)


def _srmse_rfs(x: np.ndarray, ref: np.ndarray, labels: np.ndarray, suffix: str) -> dict:
    summary = srmse_summary(x, ref, labels)
    _ids, cosine = feature_similarity(x, ref, labels)
    return {"srmse_mean" + suffix: summary["srmse_mean"], "srmse_max" + suffix: summary["srmse_max"],
            "rfs" + suffix: float(cosine.mean()) if len(cosine) else float("nan")}


def clinical_metrics(x: np.ndarray, ref: np.ndarray, data_range: float, segments: Segmentation,
                     region: np.ndarray | None = None) -> dict[str, float]:
    """VIF, MeanSRMSE, MaxSRMSE and RFS of ``x`` against ``ref`` (real (H, W) arrays, image units).

    Parameters
    ----------
    data_range : float
        The reference's L: VIF maps both images by 255 / L (:mod:`.vif`).
    segments : Segmentation
        The segments SRMSE and RFS run over (:mod:`.segments`).
    region : bool (H, W) array or None
        Adds "srmse_mean_in", "srmse_max_in", "rfs_in" over the segments with a pixel in the region.

    Returns
    -------
    dict
        Plain floats (SRMSE in image units). VIF is left out for images under 41 pixels a side (its four scales do
        not fit); a value with no segment to run over is NaN.
    """
    x, ref = np.asarray(x, np.float64), np.asarray(ref, np.float64)
    values = {}
    if min(x.shape) >= MIN_SIDE:
        values["vif"] = float(vif_p(torch.from_numpy(x), torch.from_numpy(ref), float(data_range)))
    values.update(_srmse_rfs(x, ref, segments.labels, ""))
    if region is not None:
        values.update(_srmse_rfs(x, ref, touching(segments.labels, region), "_in"))
    return values


def worst_segment(x: np.ndarray, ref: np.ndarray, segments: Segmentation) -> dict | None:
    """Where MaxSRMSE is: {"label", "srmse", "row", "column" (its centroid, pixels), "pixels"}; None without
    segments."""
    ids, values = segment_rmse(x, ref, segments.labels)
    if not len(ids):
        return None
    worst = int(np.argmax(values))
    row, column = segments.centroid(int(ids[worst]))
    return {"label": int(ids[worst]), "srmse": float(values[worst]), "row": row, "column": column,
            "pixels": int(np.sum(segments.labels == ids[worst]))}
