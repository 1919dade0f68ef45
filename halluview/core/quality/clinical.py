"""The clinical metrics of one reconstruction against one reference, in one call: VIF, segment RMSE, radiomic
feature similarity, globally and over the segments that touch a region."""
from __future__ import annotations

import numpy as np

from .radiomics import RadiomicBasis, cosine_similarity
from .segments import Segmentation
from .srmse import segment_rmse
from .vif import MIN_SIDE, VifReference

CLINICAL_NAMES = ("vif", "srmse_mean", "srmse_max", "rfs")
"""The metric names, in display order; with a region also "srmse_mean_in", "srmse_max_in", "rfs_in"."""
REGION_NAMES = ("srmse_mean", "srmse_max", "rfs")


def touching(labels: np.ndarray, region: np.ndarray) -> np.ndarray:
    """The labels of the segments with a pixel in ``region`` (bool (H, W))."""
    inside = np.unique(labels[np.asarray(region, bool)])
    return inside[inside != 0]


def _summary(ids: np.ndarray, srmse: np.ndarray, rfs_ids: np.ndarray, cosine: np.ndarray, suffix: str) -> dict:
    finite = np.isfinite(cosine)
    return {"srmse_mean" + suffix: float(srmse.mean()) if len(ids) else float("nan"),
            "srmse_max" + suffix: float(srmse.max()) if len(ids) else float("nan"),
            "rfs" + suffix: float(cosine[finite].mean()) if finite.any() else float("nan")}


class ClinicalComparison:
    """Many reconstructions against one reference on one segmentation: the reference's radiomic features are
    computed once, and so is its side of VIF. ``basis`` (grey-level range and segments) may be shared between
    references, so that a reconstruction's features serve every comparison (:meth:`features`)."""

    def __init__(self, ref: np.ndarray, data_range: float, segments: Segmentation,
                 region: np.ndarray | None = None, basis: RadiomicBasis | None = None):
        self.ref, self.data_range, self.segments = np.asarray(ref, np.float64), float(data_range), segments
        self.basis = basis or RadiomicBasis(segments.labels, float(self.ref.min()), float(self.ref.max()))
        self.ref_features = self.basis.features(self.ref)
        self.region_ids = None if region is None else touching(segments.labels, region)
        self.vif = VifReference(self.ref, self.data_range) if min(self.ref.shape) >= MIN_SIDE else None

    def features(self, x: np.ndarray) -> np.ndarray:
        return self.basis.features(np.asarray(x, np.float64))

    def metrics(self, x: np.ndarray, x_features: np.ndarray | None = None) -> dict[str, float]:
        """VIF, MeanSRMSE, MaxSRMSE, RFS of ``x`` (and the "_in" variants with a region): see
        :func:`clinical_metrics`."""
        x = np.asarray(x, np.float64)
        values = {}
        if self.vif is not None:
            values["vif"] = float(self.vif(x))
        ids, srmse = segment_rmse(x, self.ref, self.segments.labels)
        cosine = cosine_similarity(self.ref_features, self.features(x) if x_features is None else x_features)
        values.update(_summary(ids, srmse, self.basis.ids, cosine, ""))
        if self.region_ids is not None:
            keep, keep_rfs = np.isin(ids, self.region_ids), np.isin(self.basis.ids, self.region_ids)
            values.update(_summary(ids[keep], srmse[keep], self.basis.ids[keep_rfs], cosine[keep_rfs], "_in"))
        return values


def clinical_metrics(x: np.ndarray, ref: np.ndarray, data_range: float, segments: Segmentation,
                     region: np.ndarray | None = None) -> dict[str, float]:
    """VIF, MeanSRMSE, MaxSRMSE and RFS of ``x`` against ``ref`` (real (H, W) arrays, image units).

    Parameters
    ----------
    data_range : float
        The reference's L: VIF maps both images by 255 / L (:mod:`.vif`).
    segments : Segmentation
        The segments SRMSE and RFS run over (:mod:`.segments`); RFS's grey levels span the reference's range.
    region : bool (H, W) array or None
        Adds "srmse_mean_in", "srmse_max_in", "rfs_in": the same per-segment values over the segments with a
        pixel in the region (features still normalised over all the reference's segments).

    Returns
    -------
    dict
        Plain floats (SRMSE in image units). VIF is left out for images under 41 pixels a side (its four scales do
        not fit); a value with no segment to run over is NaN.
    """
    return ClinicalComparison(ref, data_range, segments, region).metrics(x)


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
