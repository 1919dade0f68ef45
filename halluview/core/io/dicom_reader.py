"""DICOM reader: one file (single- or multi-frame), a folder of series (searched recursively) or a DICOMDIR.

Headers are read once with the Pixel Data deferred (``defer_size``), grouped into series and sorted
(``dicom_series``); only the chosen series' pixel data is then read and decoded (``dicom_pixels``). Values are
``RescaleSlope * stored + RescaleIntercept`` (HU for CT), per image.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.multival import MultiValue
from pydicom.uid import MediaStorageDirectoryStorage

from ..scan import Scan
from .dicom_files import read_dicom_header
from .dicom_pixels import assemble_volume, transfer_syntax
from .dicom_series import (
    SeriesGroup,
    first_number,
    frame_value,
    group_series,
    header_text,
    pixel_data_problem,
    stack_geometry,
)
from .errors import ContentChoice, ScanReadError
from .guards import default_window, sanitise
from .limits import open_regular_file
from .registry import ReadRequest

#: Pixel Data larger than this is read only when the series is chosen.
DEFER_BYTES = 16 * 1024
#: Modalities that keep their name in ``Scan.modality``; every other one becomes "OT" (kept in meta).
SCAN_MODALITIES = {"CT": "CT", "MR": "MR"}
#: Non-identifying header fields copied to ``scan.meta`` (under these names), when present.
META_KEYWORDS = (
    "SeriesDescription", "ProtocolName", "BodyPartExamined", "Manufacturer", "ManufacturerModelName",
    "MagneticFieldStrength", "EchoTime", "RepetitionTime", "InversionTime", "FlipAngle", "KVP",
    "ConvolutionKernel", "SliceThickness", "ImageType", "PhotometricInterpretation", "BitsStored", "RescaleType",
)


def read_dicom(path: Path, request: ReadRequest) -> Scan:
    """Read the chosen (default: largest) series of a DICOM file, folder or DICOMDIR."""
    groups = _groups(path, request.warnings)
    group = _chosen_group(path, groups, request.choice)
    request.warnings.extend(group.notes)
    volume = sanitise(assemble_volume(path, group.records, request.max_bytes), path, request.warnings)
    geometry = stack_geometry(group.records)
    request.warnings.extend(geometry.notes)
    first = group.records[0].dataset
    modality_name = str(first.get("Modality") or "").upper()
    meta = _meta(first, group)
    if int(first.get("SamplesPerPixel") or 1) == 3:
        request.warnings.append("colour image: converted to grey (luminance)")
    return Scan(
        volume=volume,
        modality=SCAN_MODALITIES.get(modality_name, "OT"),
        units=_units(first, modality_name),
        spacing_mm=geometry.spacing_mm,
        orientation=geometry.orientation,
        window=_window(group) or default_window(volume[len(volume) // 2]),
        meta=meta,
        source=os.fspath(path),
        affine=geometry.affine,
    )


def list_dicom(path: Path) -> list[ContentChoice]:
    """One choice per series (sub-series when a series mixes image sizes or orientations), largest first."""
    return [ContentChoice("series", group.key, group.label, group.shape) for group in _groups(path, [])]


def source_header(path: Path, series_key: str) -> Dataset:
    """The header of one image of series ``series_key`` in a DICOM file, folder or DICOMDIR (for writers)."""
    uid = series_key.split("#")[0]
    for dataset in _image_datasets(path, []):
        if (header_text(dataset, "SeriesInstanceUID") or "unknown-series") == uid:
            return dataset
    raise ScanReadError(path, f"it no longer holds series {uid}")


def _groups(path: Path, notes: list[str]) -> list[SeriesGroup]:
    datasets = _image_datasets(path, notes)
    if not datasets:
        skipped = "".join(f"; {note}" for note in notes)
        raise ScanReadError(path, f"it holds no DICOM image (no file with pixel data){skipped}")
    return group_series(datasets)


def _chosen_group(path: Path, groups: list[SeriesGroup], choice: Any) -> SeriesGroup:
    if choice is None:
        return groups[0]
    for group in groups:
        if group.key == str(choice):
            return group
    parts = [group for group in groups if group.key.split("#")[0] == str(choice)]
    if parts:
        listing = "; ".join(f"{group.key} ({group.label})" for group in parts)
        raise ScanReadError(path, f"series {choice} mixes image sizes or orientations; choose one part: {listing}")
    available = ", ".join(group.key for group in groups)
    raise ScanReadError(path, f"it has no series {choice}; its series are: {available}")


def _image_datasets(path: Path, notes: list[str]) -> list[Dataset]:
    if path.is_dir():
        return _folder_datasets(path, notes)
    dataset = _read_header(path, force=not _has_preamble(path))
    if _is_directory(dataset):
        return _dicomdir_datasets(path, dataset, notes)
    if "PixelData" not in dataset:
        hint = " - the file may be truncated" if "Rows" in dataset else ""
        raise ScanReadError(path, f"it is DICOM, but holds no image (no Pixel Data element{hint})")
    problem = pixel_data_problem(dataset)
    if problem:
        raise ScanReadError(path, problem)
    return [dataset]


def _has_preamble(path: Path) -> bool:
    with open_regular_file(path) as handle:
        return handle.read(132)[128:132] == b"DICM"


def _read_header(path: Path, force: bool = False) -> Dataset:
    return read_dicom_header(path, defer_size=DEFER_BYTES, force=force)


def _is_directory(dataset: Dataset) -> bool:
    meta = getattr(dataset, "file_meta", None)
    return meta is not None and meta.get("MediaStorageSOPClassUID") == MediaStorageDirectoryStorage


def _folder_datasets(folder: Path, notes: list[str]) -> list[Dataset]:
    # is_file() is False for FIFOs, sockets and devices, which are therefore never opened
    files = sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))
    return _datasets_of_files(files, notes, "in the folder")


def _dicomdir_datasets(path: Path, dicomdir: Dataset, notes: list[str]) -> list[Dataset]:
    """The image files a DICOMDIR's directory records refer to (``ReferencedFileID``, relative to its folder).

    Only regular files inside the DICOMDIR's own folder are read (after resolving ``..`` and symbolic links): a
    DICOMDIR must not make HalluView read files elsewhere on the machine.
    """
    root = path.parent.resolve()
    files, outside, not_regular = set(), [], []
    for record in dicomdir.get("DirectoryRecordSequence") or []:
        file_id = record.get("ReferencedFileID")
        if not file_id:
            continue
        parts = [str(part) for part in (file_id if isinstance(file_id, (list, MultiValue)) else [file_id])]
        file = _inside(root, parts)
        if file is None:
            outside.append("\\".join(parts))
        elif file.exists() and not file.is_file():
            not_regular.append(file.name)
        else:
            files.add(file)
    if outside:
        notes.append(f"{len(outside)} file(s) the DICOMDIR refers to lie outside its folder and were not read "
                     f"(first: {outside[0]})")
    if not_regular:
        notes.append(f"{len(not_regular)} path(s) the DICOMDIR refers to are not regular files and were skipped "
                     f"(first: {not_regular[0]})")
    missing = sorted(file for file in files if not file.is_file())
    if missing:
        notes.append(f"{len(missing)} file(s) listed in the DICOMDIR are missing (first: {missing[0].name})")
    return _datasets_of_files(sorted(files - set(missing)), notes, "referenced by the DICOMDIR")


def _inside(root: Path, parts: list[str]) -> Path | None:
    """``root`` joined with the File ID components, resolved; None when that leads out of ``root``."""
    if not parts or any(not part or "/" in part or "\\" in part or part in (".", "..") for part in parts):
        return None
    candidate = root.joinpath(*parts)
    try:
        resolved = candidate.resolve()
    except (OSError, RuntimeError):  # a symbolic link loop
        return None
    return resolved if resolved.is_relative_to(root) and resolved != root else None


def _datasets_of_files(files: list[Path], notes: list[str], where: str) -> list[Dataset]:
    datasets, damaged, without_image = [], [], 0
    for file in files:
        try:
            dataset = _read_header(file)
        except InvalidDicomError:
            continue
        except Exception:  # noqa: BLE001 - one damaged file must not hide the readable series of a folder
            damaged.append(file.name)
            continue
        if "PixelData" in dataset and not _is_directory(dataset):
            if pixel_data_problem(dataset, check_truncation=False):
                damaged.append(file.name)
            else:
                datasets.append(dataset)
        elif not _is_directory(dataset):
            without_image += 1
    if damaged:
        notes.append(f"{len(damaged)} damaged DICOM file(s) {where} were skipped (first: {damaged[0]})")
    if without_image:
        notes.append(f"{without_image} DICOM file(s) {where} hold no image (no pixel data) and were skipped")
    return datasets


def _units(dataset: Dataset, modality: str) -> str:
    rescale_type = str(dataset.get("RescaleType") or "").strip()
    if modality == "CT":
        return rescale_type if rescale_type and rescale_type.upper() != "HU" else "HU"
    if modality == "RTDOSE":
        return str(dataset.get("DoseUnits") or "Gy")
    if modality == "PT" and dataset.get("Units"):
        return str(dataset.Units)
    return rescale_type if rescale_type and rescale_type.upper() not in ("US", "UNSPECIFIED") else "a.u."


def _window(group: SeriesGroup) -> tuple[float, float] | None:
    record = group.records[len(group.records) // 2]
    centre = first_number(frame_value(record.dataset, record.frame, "FrameVOILUTSequence", "WindowCenter"), np.nan)
    width = first_number(frame_value(record.dataset, record.frame, "FrameVOILUTSequence", "WindowWidth"), np.nan)
    if not (np.isfinite(centre) and np.isfinite(width) and width > 0):
        return None
    return float(centre), float(width)


def _meta(dataset: Dataset, group: SeriesGroup) -> dict[str, Any]:
    modality = str(dataset.get("Modality") or "")
    meta: dict[str, Any] = {"format": "DICOM", "choice": group.key, "dicom_modality": modality}
    for keyword in META_KEYWORDS:
        value = dataset.get(keyword)
        if value not in (None, ""):
            meta[keyword] = _plain(value)
    syntax = transfer_syntax(dataset)
    meta["transfer_syntax"] = syntax.name if syntax is not None else "unknown (no file meta)"
    meta["n_images"] = len(group.records)
    # Each slice's own image (SOP class, instance, frame) in slice order: a derived export that joins the source
    # study references the very image it was computed from.
    meta["source_images"] = [[str(r.dataset.get("SOPClassUID") or ""), str(r.dataset.get("SOPInstanceUID") or ""),
                              None if r.frame is None else r.frame + 1] for r in group.records]
    meta["invert_display"] = str(dataset.get("PhotometricInterpretation") or "") == "MONOCHROME1"
    return meta


def _plain(value: Any) -> Any:
    """A header value as str / float / int / list of those (what JSON and the GUI can show)."""
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return [_plain(item) for item in value]
    if isinstance(value, (int, float)):
        return float(value) if isinstance(value, float) else int(value)
    return str(value)

