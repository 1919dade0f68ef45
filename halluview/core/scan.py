"""One loaded study: the image volume plus everything a reconstruction or attack needs to know about it."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


@dataclass
class Scan:
    """A loaded scan.

    Attributes
    ----------
    volume : np.ndarray
        float32 image volume, slices first: shape (n_slices, H, W), in physical units (HU for CT). Large NIfTI
        files and fastMRI files give a lazy, slice-indexable volume instead (``halluview.core.io.LazySliceVolume``:
        ``shape``, ``volume[i]``, ``np.asarray(volume)``); ``slice_image`` works for both.
    modality : str
        "CT", "MR", "OT" (other / unknown) or "PHANTOM".
    units : str
        Unit of the voxel values: "HU", "a.u." (arbitrary units), ...
    spacing_mm : tuple[float, float, float]
        Voxel spacing (slice, row, column) in millimetres.
    orientation : str
        Axis codes of (slice, row, column), e.g. "SPL" for nibabel's canonical RAS reversed; "" when unknown.
    kspace : np.ndarray | None
        Raw k-space when the file holds it: complex64, (n_slices, coils, H, W) or (n_slices, H, W).
        For HDF5 files this may be a lazy h5py-backed reader; index it by slice.
    reference : np.ndarray | None
        Reference image volume (e.g. fastMRI ``reconstruction_rss``), shape (n_slices, h, w).
    window : tuple[float, float] | None
        Default display window (centre, width) in ``units``.
    meta : dict
        Selected non-identifying metadata (e.g. fastMRI attrs max / acquisition, DICOM series description).
    source : str
        Path the scan came from, or "demo:<name>" for a built-in example.
    affine : np.ndarray | None
        4×4 matrix mapping (slice, row, column) voxel indices of ``volume`` to patient coordinates in mm, RAS+
        (NIfTI convention); None when the file gives no geometry. Writers use it to keep the position.
    mask : np.ndarray | None
        k-space sampling mask when the file holds one (fastMRI ``mask``: 1-D over k-space columns).
    """

    volume: np.ndarray
    modality: str = "OT"
    units: str = "a.u."
    spacing_mm: tuple[float, float, float] = (1.0, 1.0, 1.0)
    orientation: str = ""
    kspace: Any = None
    reference: Any = None
    window: tuple[float, float] | None = None
    meta: dict = field(default_factory=dict)
    source: str = ""
    affine: np.ndarray | None = None
    mask: np.ndarray | None = None

    @property
    def n_slices(self) -> int:
        return int(self.volume.shape[0])

    def slice_image(self, index: int) -> np.ndarray:
        """One 2-D slice as float32 (H, W)."""
        if not 0 <= index < self.n_slices:
            raise IndexError(f"slice {index} is outside 0..{self.n_slices - 1} of {self.source or 'the scan'}")
        return np.asarray(self.volume[index], dtype=np.float32)

    @property
    def name(self) -> str:
        return Path(self.source).name if self.source and not self.source.startswith("demo:") else self.source
