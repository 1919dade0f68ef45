"""Write a reconstruction as a derived DICOM series (one file per slice, int16 with rescale so values survive).

The series gets new Series / SOP Instance UIDs, ``ImageType`` DERIVED\\SECONDARY, a description saying it is an
adversarial reconstruction, the source's modality and geometry (from ``Scan.affine``), and no identifying
attribute (patient, study, institution) unless ``copy_identifying=True``, in which case they are copied from the
source DICOM header (and the study and frame of reference UIDs are kept, so the series joins the original study
and overlays on it), and each image references the source image it was computed from (``SourceImageSequence``).
An anonymous export (the default) keeps the geometry (position, orientation, spacing) but carries no source UID.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    CTImageStorage,
    ExplicitVRLittleEndian,
    MRImageStorage,
    SecondaryCaptureImageStorage,
    generate_uid,
)

from ..atomic import ordinary_mode
from ..scan import Scan
from .errors import ScanWriteError
from .write_support import as_volume, display_affine, refuse_input

DEFAULT_DESCRIPTION = "HalluView adversarial reconstruction - not for diagnosis"
STORAGE_CLASSES = {"CT": CTImageStorage, "MR": MRImageStorage}
#: Attributes that identify the patient or the study; copied only with ``copy_identifying=True``.
IDENTIFYING_KEYWORDS = (
    "PatientName", "PatientID", "PatientBirthDate", "PatientSex", "PatientAge", "PatientWeight", "PatientSize",
    "StudyInstanceUID", "StudyDate", "StudyTime", "StudyID", "AccessionNumber", "ReferringPhysicianName",
    "StudyDescription", "InstitutionName", "FrameOfReferenceUID",
)
INT16_SPAN = 65000.0


def rescale_to_int16(volume: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Stored int16 values, slope and intercept with ``slope * stored + intercept`` ≈ ``volume``.

    Integer-valued volumes that fit in int16 (e.g. HU) keep slope 1 and intercept 0 (exact); others use the whole
    int16 range (error at most slope / 2). Slope and intercept are rounded to what a DICOM DS string holds.
    """
    low, high = float(volume.min()), float(volume.max())
    if np.array_equal(volume, np.round(volume)) and low >= -32768 and high <= 32767:
        return volume.astype(np.int16), 1.0, 0.0
    slope = float(f"{max((high - low) / INT16_SPAN, 1e-10):.8g}")
    intercept = float(f"{(high + low) / 2:.8g}")
    stored = np.clip(np.round((volume.astype(np.float64) - intercept) / slope), -32768, 32767)
    return stored.astype(np.int16), slope, intercept


def _geometry(like: Scan, n_slices: int) -> tuple[list[list[float]], list[float], list[float], float]:
    """Per-slice positions, orientation cosines, pixel spacing and slice spacing (LPS, from the RAS affine)."""
    lps = np.diag([-1.0, -1.0, 1.0, 1.0]) @ display_affine(like)
    slice_step, row_step, column_step = (lps[:3, axis] for axis in range(3))
    row_spacing, column_spacing = float(np.linalg.norm(row_step)), float(np.linalg.norm(column_step))
    orientation = [*(column_step / column_spacing), *(row_step / row_spacing)]
    positions = [list(lps[:3, 3] + k * slice_step) for k in range(n_slices)]
    return positions, [round(float(v), 6) for v in orientation], [row_spacing, column_spacing], float(
        np.linalg.norm(slice_step))


def _source_identity(like: Scan) -> Dataset:
    from .dicom_reader import source_header

    if like.meta.get("format") != "DICOM":
        raise ScanWriteError(like.source, "copy_identifying=True needs a scan read from DICOM")
    return source_header(Path(like.source), str(like.meta.get("choice", "")))


UNKNOWN_TYPE_2 = ("PatientBirthDate", "PatientSex", "StudyDate", "StudyTime", "ReferringPhysicianName", "StudyID",
                  "AccessionNumber", "Laterality", "PatientPosition", "PositionReferenceIndicator", "AcquisitionNumber")
"""Type 2 attributes of the written modules (Patient, General Study / Series, Frame of Reference, CT / MR Image) that a
derived image does not know unless copied from its source (``copy_identifying``)."""


def _base_dataset(like: Scan, identity: Dataset | None, description: str) -> Dataset:
    modality = str(like.meta.get("dicom_modality") or like.modality or "OT")
    dataset = Dataset()
    dataset.SOPClassUID = STORAGE_CLASSES.get(modality, SecondaryCaptureImageStorage)
    dataset.Modality = modality
    dataset.ImageType = ["DERIVED", "SECONDARY", "AXIAL" if modality == "CT" else "OTHER"]
    dataset.SeriesDescription = description[:64]
    dataset.DerivationDescription = "Adversarial reconstruction computed by HalluView"
    dataset.SeriesInstanceUID = generate_uid()
    dataset.SeriesNumber = 9001
    dataset.StudyInstanceUID = generate_uid()
    dataset.FrameOfReferenceUID = generate_uid()
    dataset.PatientName = ""
    dataset.PatientID = ""
    for keyword in UNKNOWN_TYPE_2:  # required to be present, empty when unknown: a PACS checks for them
        setattr(dataset, keyword, "")
    if modality == "CT":
        dataset.KVP = ""
    if modality == "MR":  # computed, not acquired: research mode, no sequence variant, timings unknown
        dataset.ScanningSequence, dataset.SequenceVariant = "RM", "NONE"
        for keyword in ("ScanOptions", "MRAcquisitionType", "RepetitionTime", "EchoTime", "EchoTrainLength"):
            setattr(dataset, keyword, "")
    dataset.Manufacturer = "HalluView"
    dataset.BurnedInAnnotation = "NO"
    for keyword in IDENTIFYING_KEYWORDS if identity is not None else ():
        if keyword in identity:
            setattr(dataset, keyword, identity[keyword].value)
    return dataset


def _image_reference(sop_class: str, sop_instance: str, frame: int | None) -> Dataset:
    item = Dataset()
    item.ReferencedSOPClassUID, item.ReferencedSOPInstanceUID = sop_class, sop_instance
    if frame is not None:
        item.ReferencedFrameNumber = frame
    return item


def _slice_dataset(base: Dataset, index: int, stored: np.ndarray, like: Scan, geometry: tuple,
                   reference: bool) -> Dataset:
    positions, orientation, pixel_spacing, slice_spacing = geometry
    dataset = Dataset()
    dataset.update(base)
    dataset.SOPInstanceUID = generate_uid()
    dataset.InstanceNumber = index + 1
    dataset.ImagePositionPatient = [round(float(v), 6) for v in positions[index]]
    dataset.ImageOrientationPatient = orientation
    dataset.PixelSpacing = [round(v, 6) for v in pixel_spacing]
    dataset.SliceThickness = round(slice_spacing, 6)
    dataset.SpacingBetweenSlices = round(slice_spacing, 6)
    dataset.Rows, dataset.Columns = stored.shape
    dataset.SamplesPerPixel = 1
    dataset.PhotometricInterpretation = "MONOCHROME2"
    dataset.BitsAllocated, dataset.BitsStored, dataset.HighBit, dataset.PixelRepresentation = 16, 16, 15, 1
    if like.window is not None:
        dataset.WindowCenter, dataset.WindowWidth = round(like.window[0], 4), round(max(like.window[1], 1e-3), 4)
    dataset.PixelData = np.ascontiguousarray(stored, dtype="<i2").tobytes()
    sources = like.meta.get("source_images") or []
    if reference and index < len(sources) and sources[index][1]:
        dataset.SourceImageSequence = [_image_reference(*sources[index])]
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = dataset.SOPClassUID
    meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    dataset.file_meta = meta
    return dataset


def write_dicom_series(
    folder: str | os.PathLike,
    volume: np.ndarray,
    like: Scan,
    *,
    copy_identifying: bool = False,
    description: str = DEFAULT_DESCRIPTION,
) -> list[Path]:
    """Write ``volume`` (slices, H, W, in ``like.units``) as a derived DICOM series into a new folder.

    Parameters
    ----------
    folder : str or os.PathLike
        Output folder: must not exist or be empty, and must not be (inside) the source folder.
    volume : np.ndarray
        Reconstruction in the layout and units of ``like.volume`` (HU for CT).
    like : Scan
        The scan it derives from: modality, geometry, window.
    copy_identifying : bool
        Copy patient / study attributes from the source DICOM and reference each source image (default False:
        none are written).
    description : str
        ``SeriesDescription`` (at most 64 characters are kept).

    Returns
    -------
    list of Path
        The written files, one per slice (``IM00001.dcm``, ...), created atomically as one folder.
    """
    target = refuse_input(folder, like)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ScanWriteError(target, "the output folder must not exist yet or be empty")
    values = as_volume(volume)
    stored, slope, intercept = rescale_to_int16(values)
    base = _base_dataset(like, _source_identity(like) if copy_identifying else None, description)
    base.RescaleSlope, base.RescaleIntercept = slope, intercept
    base.RescaleType = "HU" if like.units == "HU" else "US"
    geometry = _geometry(like, len(values))
    datasets = [_slice_dataset(base, index, stored[index], like, geometry, copy_identifying)
                for index in range(len(values))]
    return _write_folder_atomically(target, datasets)


def _write_folder_atomically(target: Path, datasets: list[Dataset]) -> list[Path]:
    """Write the files into a hidden sibling folder, then move it into place in one ``os.replace``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    names = [f"IM{index + 1:05d}.dcm" for index in range(len(datasets))]
    try:
        for name, dataset in zip(names, datasets):
            pydicom.dcmwrite(staging / name, dataset, enforce_file_format=True)
        os.chmod(staging, ordinary_mode(directory=True))
        os.replace(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return [target / name for name in names]
