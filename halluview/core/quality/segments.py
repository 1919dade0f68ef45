"""The segments the clinical metrics are taken over: a classical over-segmentation of the reference, or a label map
the user loads (NIfTI; a DICOM SEG is not read).

Automatic segments (SAM cannot run offline): skimage's SLIC on the reference scaled to [0, 1] by its data range,
then restricted to the object: pixels below :data:`FOREGROUND_FRACTION` of the data range (after a Gaussian smoothing
of sigma 1 px, so noise does not punch holes) are background, label 0, and belong to no segment. The number of
segments asked of SLIC is the image area over :data:`SEGMENT_AREA_PX`; compactness :data:`COMPACTNESS` (low: the
segments follow edges, so a small bright structure tends to get a segment of its own); segments down to
:data:`MIN_SIZE_FACTOR` × the target area survive the connectivity pass (skimage's default 0.5 would merge a
4-pixel-wide disc into its neighbour); 10 iterations; deterministic.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ExperimentError

FOREGROUND_FRACTION = 0.05
SEGMENT_AREA_PX = 48
COMPACTNESS = 0.05
MIN_SIZE_FACTOR = 0.1
SMOOTHING_SIGMA_PX = 1.0
NIFTI_SUFFIXES = (".nii", ".nii.gz")


@dataclass
class Segmentation:
    """Integer labels (H, W): 0 = in no segment; every other value one segment. ``method`` and ``parameters``
    say how it was made (recorded in reports)."""

    labels: np.ndarray
    method: str
    parameters: dict = field(default_factory=dict)

    @property
    def ids(self) -> np.ndarray:
        """The segment labels, ascending (0 left out)."""
        values = np.unique(self.labels)
        return values[values != 0]

    def describe(self) -> dict:
        return {"method": self.method, "parameters": self.parameters, "segments": int(len(self.ids))}

    def centroid(self, label: int) -> tuple[float, float]:
        """(row, column) of a segment's centre of mass, pixels."""
        rows, cols = np.nonzero(self.labels == label)
        return float(rows.mean()), float(cols.mean())


def auto_segments(ref: np.ndarray, data_range: float) -> Segmentation:
    """SLIC over-segmentation of the object in ``ref`` (parameters in the module's docstring)."""
    from scipy.ndimage import gaussian_filter
    from skimage.segmentation import slic

    scaled = np.clip(np.asarray(ref, dtype=np.float64) / data_range, 0.0, 1.0)
    foreground = gaussian_filter(scaled, SMOOTHING_SIGMA_PX) >= FOREGROUND_FRACTION
    parameters = {"algorithm": "skimage.segmentation.slic", "compactness": COMPACTNESS,
                  "target_area_px": SEGMENT_AREA_PX, "foreground": f">= {FOREGROUND_FRACTION:g} × data range "
                  f"after a Gaussian of sigma {SMOOTHING_SIGMA_PX:g} px", "max_num_iter": 10,
                  "min_size_factor": MIN_SIZE_FACTOR}
    if not foreground.any():
        return Segmentation(np.zeros(scaled.shape, dtype=np.int32), "slic", parameters)
    # SLIC over the whole image (its grid start is fast; its masked start runs k-means), then the background cut
    # away: a segment across the object's edge keeps only its part inside.
    n_segments = max(1, int(round(scaled.size / SEGMENT_AREA_PX)))
    labels = slic(scaled, n_segments=n_segments, compactness=COMPACTNESS, max_num_iter=10, start_label=1,
                  channel_axis=None, enforce_connectivity=True, min_size_factor=MIN_SIZE_FACTOR)
    return Segmentation(np.where(foreground, labels, 0).astype(np.int32), "slic",
                        {**parameters, "n_segments": n_segments})


def load_segments(path: str | Path, shape: tuple[int, int], slice_index: int = 0) -> Segmentation:
    """A label map from a NIfTI file, read and reoriented as the scans are (:func:`halluview.core.io.read_scan`:
    slices first), so a label file aligned with the image file lines up; slice ``slice_index`` is used (a single
    slice file: its only slice). Raises ExperimentError naming the file for anything that does not fit."""
    path = Path(path)
    volume = _read_labels(path)
    index = 0 if volume.shape[0] == 1 else slice_index
    if not 0 <= index < volume.shape[0]:
        raise ExperimentError(f"{path}: the label volume has {volume.shape[0]} slices, there is no slice {index}")
    labels = volume[index]
    if labels.shape != tuple(shape):
        raise ExperimentError(f"{path}: the label map is {labels.shape[0]}×{labels.shape[1]}, the slice is "
                              f"{shape[0]}×{shape[1]}")
    if not np.any(labels):
        raise ExperimentError(f"{path}: the label map has no labelled pixel on slice {index}")
    return Segmentation(labels.astype(np.int32), "file", {"file": str(path), "slice": index})


def _read_labels(path: Path) -> np.ndarray:
    """The label volume (slices, H, W) as whole numbers ≥ 0."""
    from ..io import read_scan
    from ..io.errors import ScanReadError

    if not path.name.lower().endswith(NIFTI_SUFFIXES):
        raise ExperimentError(f"{path}: segments must be a NIfTI label map (.nii or .nii.gz)")
    try:
        data = np.asarray(read_scan(path).volume)
    except (ScanReadError, OSError, ValueError) as err:
        raise ExperimentError(f"{path}: cannot read the label map ({err})") from None
    if not np.all(np.isfinite(data)) or not np.all(data == np.round(data)) or data.min() < 0:
        raise ExperimentError(f"{path}: labels must be whole numbers ≥ 0")
    return data.astype(np.int64)
