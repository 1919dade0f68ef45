"""Write synthetic DICOM series for tests and benchmarks (int16 CT with rescale, any orientation, shuffled names)."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, MRImageStorage, generate_uid

AXIAL = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)


def ct_dataset(
    stored: np.ndarray,
    *,
    position: Sequence[float] | None,
    orientation: Sequence[float] | None = AXIAL,
    series_uid: str,
    instance: int | None,
    pixel_spacing: tuple[float, float] = (0.7, 0.8),
    slice_thickness: float = 1.25,
    slope: float = 1.0,
    intercept: float = -1024.0,
    modality: str = "CT",
    window: tuple[float, float] | None = (40.0, 400.0),
) -> Dataset:
    """One single-frame CT (or MR) image; ``stored`` (rows, columns) int16 or uint16."""
    sop_class = CTImageStorage if modality == "CT" else MRImageStorage
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    dataset = Dataset()
    dataset.file_meta = meta
    dataset.SOPClassUID, dataset.SOPInstanceUID = sop_class, meta.MediaStorageSOPInstanceUID
    dataset.StudyInstanceUID, dataset.SeriesInstanceUID = "1.2.826.0.1.3680043.8.498.1", series_uid
    dataset.PatientName, dataset.PatientID, dataset.PatientBirthDate = "Doe^Jane", "ID-0001", "19700101"
    dataset.Modality, dataset.SeriesDescription = modality, "synthetic test series"
    dataset.Rows, dataset.Columns = stored.shape
    dataset.SamplesPerPixel, dataset.PhotometricInterpretation = 1, "MONOCHROME2"
    dataset.BitsAllocated, dataset.BitsStored, dataset.HighBit = 16, 16, 15
    dataset.PixelRepresentation = int(stored.dtype.kind == "i")
    dataset.RescaleSlope, dataset.RescaleIntercept = slope, intercept
    dataset.PixelSpacing, dataset.SliceThickness = list(pixel_spacing), slice_thickness
    if window is not None:
        dataset.WindowCenter, dataset.WindowWidth = window
    if orientation is not None:
        dataset.ImageOrientationPatient = list(orientation)
    if position is not None:
        dataset.ImagePositionPatient = [float(v) for v in position]
    if instance is not None:
        dataset.InstanceNumber = instance
    dataset.PixelData = np.ascontiguousarray(stored).tobytes()
    return dataset


def write_ct_series(
    folder: str | Path,
    stored_volume: np.ndarray,
    *,
    spacing: tuple[float, float, float] = (1.25, 0.7, 0.8),
    orientation: Sequence[float] = AXIAL,
    origin: Sequence[float] = (-100.0, -120.0, 50.0),
    series_uid: str | None = None,
    shuffle_seed: int | None = 0,
    positions: bool = True,
    **dataset_options: object,
) -> list[Path]:
    """Write ``stored_volume`` (slices, rows, columns) as one file per slice, in shuffled file-name order.

    Slice k sits at ``origin + k * spacing[0] * normal`` (normal = row cosines × column cosines) and has
    InstanceNumber ``n - k`` (reverse order, so a reader sorting by instance number alone would be wrong).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    series_uid = series_uid or generate_uid()
    normal = np.cross(orientation[:3], orientation[3:])
    n_slices = len(stored_volume)
    order = np.random.default_rng(shuffle_seed).permutation(n_slices) if shuffle_seed is not None else range(n_slices)
    paths = []
    for name_index, k in enumerate(order):
        dataset = ct_dataset(
            stored_volume[k],
            position=(np.asarray(origin) + k * spacing[0] * normal) if positions else None,
            orientation=orientation if positions else None,
            series_uid=series_uid,
            instance=n_slices - int(k),
            pixel_spacing=spacing[1:],
            slice_thickness=spacing[0],
            **dataset_options,
        )
        path = folder / f"IMG{name_index:04d}.dcm"
        dataset.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def ramp_volume(n_slices: int, rows: int, columns: int, seed: int = 0) -> np.ndarray:
    """int16 stored values whose slice k has mean ≈ 100 k + 1000: slice order is visible in the values."""
    rng = np.random.default_rng(seed)
    noise = rng.integers(0, 50, size=(n_slices, rows, columns))
    return (noise + 1000 + 100 * np.arange(n_slices)[:, None, None]).astype(np.int16)
