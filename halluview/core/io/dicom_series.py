"""DICOM slice records: grouping into series, sorting along the slice normal, and the geometry of a sorted stack.

Every image is turned into one :class:`SliceRecord` per frame (a classic file gives one, an enhanced multi-frame
file or an RT dose grid gives one per frame), so single files, folders, DICOMDIRs and multi-frame files share the
same grouping, sorting and geometry code.

Sorting: by ``ImagePositionPatient`` projected on the slice normal (cross product of the two
``ImageOrientationPatient`` direction cosines), ascending; when a position or orientation is missing, by
``InstanceNumber``; otherwise in file-name order. Images of one series that differ in size or orientation are split
into sub-series whose keys are ``"<SeriesInstanceUID>#<n>"``.
"""
from __future__ import annotations

import math
import os
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.uid import DeflatedExplicitVRLittleEndian

LPS_AXIS_CODES = (("R", "L"), ("A", "P"), ("I", "S"))
LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])
PLANE_NAMES = {"S": "axial", "I": "axial", "A": "coronal", "P": "coronal", "L": "sagittal", "R": "sagittal"}


@dataclass
class SliceRecord:
    """One 2-D image of a DICOM series: where its pixels are and what it needs for sorting and rescaling."""

    dataset: Dataset
    frame: int | None
    rows: int
    columns: int
    position: np.ndarray | None
    orientation: np.ndarray | None
    instance: int | None
    slope: float = 1.0
    intercept: float = 0.0
    pixel_spacing: tuple[float, float] | None = None


@dataclass
class SeriesGroup:
    """The records of one (sub-)series, sorted; ``key`` is what ``read_scan(series=...)`` takes."""

    key: str
    records: list[SliceRecord]
    description: str = ""
    modality: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def shape(self) -> tuple[int, int, int]:
        return len(self.records), self.records[0].rows, self.records[0].columns

    @property
    def label(self) -> str:
        n_images, rows, columns = self.shape
        named = f" '{self.description}'" if self.description else ""
        part = ""
        if "#" in self.key:
            orientation = self.records[0].orientation
            plane = PLANE_NAMES[axis_code(slice_normal(orientation))] if orientation is not None else "unknown plane"
            part = f" (part {self.key.rsplit('#', 1)[1]}, {plane})"
        return f"{self.modality or 'DICOM'} series{named}{part}: {n_images} image(s) {rows}×{columns}"


@lru_cache(maxsize=None)
def _tag(keyword: str) -> int:
    tag = tag_for_keyword(keyword)
    if tag is None:
        raise KeyError(f"unknown DICOM keyword {keyword}")
    return int(tag)


def header_text(item: Dataset | None, keyword: str) -> str | None:
    """The value of a string-valued element (DS, IS, CS, ...) as text, backslash-separated when multi-valued.

    Raw (not yet converted) elements are decoded directly: much faster than pydicom's value conversion, which
    matters for folders of hundreds of files. None when absent or empty.
    """
    if item is None:
        return None
    element = item.get_item(_tag(keyword))
    if element is None or element.value is None:
        return None
    value = element.value
    if isinstance(value, bytes):
        text = value.decode("latin-1")
    elif isinstance(value, (list, tuple, MultiValue)):
        text = "\\".join(str(part) for part in value)
    else:
        text = str(value)
    text = text.strip("\x00 ")
    return text or None


def _floats(text: str | None, count: int) -> np.ndarray | None:
    if text is None:
        return None
    try:
        numbers = np.array([float(part) for part in text.split("\\")], dtype=np.float64)
    except ValueError:
        return None
    return numbers if numbers.size == count and np.all(np.isfinite(numbers)) else None


def first_number(text: str | None, default: float) -> float:
    """First number of a DS / IS text value; ``default`` when absent or not a finite number."""
    if text is None:
        return default
    try:
        number = float(text.split("\\")[0])
    except ValueError:
        return default
    return number if np.isfinite(number) else default


def _first_item(dataset: Dataset | None, *path: str) -> Dataset | None:
    """Follow ``path`` of sequence keywords, taking the first item of each; None if any is absent or empty."""
    item = dataset
    for keyword in path:
        sequence = item.get(keyword) if item is not None else None
        if not sequence:
            return None
        item = sequence[0]
    return item


@dataclass(frozen=True)
class FunctionalGroups:
    """Where an enhanced (multi-frame) file keeps per-frame and shared values; empty for classic files."""

    per_frame: list[Dataset]
    shared: Dataset | None

    @classmethod
    def of(cls, dataset: Dataset) -> FunctionalGroups:
        per_frame = dataset.get("PerFrameFunctionalGroupsSequence")
        return cls(list(per_frame or []), _first_item(dataset, "SharedFunctionalGroupsSequence"))

    def value(self, dataset: Dataset, frame: int | None, sequence: str, keyword: str) -> str | None:
        """Text of ``keyword`` in the frame's ``sequence``, else the shared one, else the top level."""
        if frame is not None and frame < len(self.per_frame):
            text = header_text(_first_item(self.per_frame[frame], sequence), keyword)
            if text is not None:
                return text
        if self.shared is not None:
            text = header_text(_first_item(self.shared, sequence), keyword)
            if text is not None:
                return text
        return header_text(dataset, keyword)


def frame_value(dataset: Dataset, frame: int | None, sequence: str, keyword: str) -> str | None:
    """Text of a value from the functional groups of ``frame`` (see ``FunctionalGroups.value``)."""
    return FunctionalGroups.of(dataset).value(dataset, frame, sequence, keyword)


def frame_count(dataset: Dataset) -> int:
    """``NumberOfFrames`` (1 when absent or not a positive number)."""
    return max(int(first_number(header_text(dataset, "NumberOfFrames"), 1.0)), 1)


@dataclass(frozen=True)
class FrameValues:
    """Geometry and rescale of one frame, as found in its functional groups or the top level."""

    orientation: np.ndarray | None
    position: np.ndarray | None
    pixel_spacing: tuple[float, float] | None
    slope: float
    intercept: float


def _frame_values(dataset: Dataset, groups: FunctionalGroups, frame: int | None) -> FrameValues:
    orientation = _floats(groups.value(dataset, frame, "PlaneOrientationSequence", "ImageOrientationPatient"), 6)
    position = _floats(groups.value(dataset, frame, "PlanePositionSequence", "ImagePositionPatient"), 3)
    spacing = _floats(groups.value(dataset, frame, "PixelMeasuresSequence", "PixelSpacing")
                      or header_text(dataset, "ImagerPixelSpacing"), 2)
    dose_scaling = header_text(dataset, "DoseGridScaling")
    if dose_scaling is not None:
        slope, intercept = first_number(dose_scaling, 1.0), 0.0
    else:
        rescale = "PixelValueTransformationSequence"
        slope = first_number(groups.value(dataset, frame, rescale, "RescaleSlope"), 1.0)
        intercept = first_number(groups.value(dataset, frame, rescale, "RescaleIntercept"), 0.0)
    usable_spacing = (float(spacing[0]), float(spacing[1])) if spacing is not None and np.all(spacing > 0) else None
    return FrameValues(orientation, position, usable_spacing, slope, intercept)


def header_int(dataset: Dataset, keyword: str, default: int) -> int:
    """An integer element (US, SS, IS) as a number, decoded by pydicom; ``default`` when absent or malformed.

    (``header_text`` suits string values only: a binary US such as BitsAllocated = 8 is the bytes ``08 00``.)
    """
    try:
        value = dataset.get(keyword)
        if isinstance(value, (list, tuple, MultiValue)):
            value = value[0] if len(value) else None
        return default if value is None or value == "" else int(value)
    except (TypeError, ValueError, OverflowError, IndexError, KeyError):
        return default


def pixel_data_problem(dataset: Dataset, *, check_truncation: bool = True) -> str | None:
    """Why the header's image description cannot match its uncompressed Pixel Data (None when it can).

    Checked from the element length alone (deferred data is not read), so an absurd ``NumberOfFrames`` or size
    is refused before any per-frame work; with ``check_truncation``, also whether the file ends inside the data.
    """
    element = dataset.get_item(_tag("PixelData"), keep_deferred=True)
    length = getattr(element, "length", None)
    if element is None or length is None or length == 0xFFFFFFFF:
        return None
    bits = header_int(dataset, "BitsAllocated", 16)
    samples = header_int(dataset, "SamplesPerPixel", 1)
    rows, columns = header_int(dataset, "Rows", 0), header_int(dataset, "Columns", 0)
    needed = frame_count(dataset) * rows * columns * samples * max(bits, 1) / 8
    if samples == 3 and header_text(dataset, "PhotometricInterpretation") == "YBR_FULL_422":
        needed = needed * 2 / 3  # two chroma samples are shared by each pair of pixels
    needed = math.ceil(needed)
    if needed > length:
        return (f"its header describes {frame_count(dataset)} frame(s) of {rows}×{columns} pixels "
                f"({needed} bytes), but the pixel data holds {length} bytes")
    return _truncation_problem(dataset, element) if check_truncation else None


def _truncation_problem(dataset: Dataset, element: Any) -> str | None:
    """The file ends before the end of its Pixel Data element (a truncated file).

    Not checked for a deflated file: its element offsets count in the inflated data, which is longer than the file.
    """
    filename, start = getattr(dataset, "filename", None), getattr(element, "value_tell", None)
    if not isinstance(filename, str) or start is None or not os.path.isfile(filename) or _is_deflated(dataset):
        return None
    remaining = os.path.getsize(filename) - int(start)
    if remaining < element.length:
        return f"the file is truncated: its pixel data should be {element.length} bytes, only {remaining} remain"
    return None


def _is_deflated(dataset: Dataset) -> bool:
    meta = getattr(dataset, "file_meta", None)
    return meta is not None and str(meta.get("TransferSyntaxUID") or "") == DeflatedExplicitVRLittleEndian


def records_of(dataset: Dataset) -> list[SliceRecord]:
    """One record per frame of ``dataset`` (which must hold pixel data)."""
    n_frames = frame_count(dataset)
    groups = FunctionalGroups.of(dataset)
    frames: list[int | None] = [None] if n_frames == 1 else list(range(n_frames))
    if groups.per_frame:
        values = [_frame_values(dataset, groups, frame) for frame in frames]
    else:
        values = [_frame_values(dataset, groups, frames[0])] * n_frames
    offsets = _floats(header_text(dataset, "GridFrameOffsetVector"), n_frames) if n_frames > 1 else None
    rows, columns = int(dataset.get("Rows") or 0), int(dataset.get("Columns") or 0)
    records = []
    for frame, value in zip(frames, values):
        position = value.position
        if offsets is not None and position is not None and value.orientation is not None:
            position = position + offsets[frame] * slice_normal(value.orientation)
        records.append(SliceRecord(
            dataset, frame, rows, columns, position, value.orientation, _instance_number(dataset, frame),
            value.slope, value.intercept, value.pixel_spacing,
        ))
    return records


def _instance_number(dataset: Dataset, frame: int | None) -> int | None:
    number = first_number(header_text(dataset, "InstanceNumber"), np.nan)
    if not np.isfinite(number):
        return frame
    return int(number) if frame is None else int(number) * 100000 + frame


def slice_normal(orientation: np.ndarray) -> np.ndarray:
    """Unit normal (row cosines × column cosines) of an ``ImageOrientationPatient``."""
    normal = np.cross(orientation[:3], orientation[3:])
    length = np.linalg.norm(normal)
    return normal / length if length > 0 else np.array([0.0, 0.0, 1.0])


def group_series(datasets: list[Dataset]) -> list[SeriesGroup]:
    """Group the images by series (split by image size and orientation), each sorted; largest first."""
    by_series: dict[str, list[SliceRecord]] = defaultdict(list)
    for dataset in datasets:
        by_series[header_text(dataset, "SeriesInstanceUID") or "unknown-series"].extend(records_of(dataset))
    groups: list[SeriesGroup] = []
    for uid, records in by_series.items():
        parts: dict[tuple, list[SliceRecord]] = defaultdict(list)
        for record in records:
            orientation = tuple(np.round(record.orientation, 2)) if record.orientation is not None else None
            parts[(record.rows, record.columns, orientation)].append(record)
        ordered_parts = sorted(parts.values(), key=len, reverse=True)
        for number, part in enumerate(ordered_parts, start=1):
            key = uid if len(ordered_parts) == 1 else f"{uid}#{number}"
            groups.append(_make_group(key, part))
    return sorted(groups, key=lambda group: (-len(group.records), group.key))


def _make_group(key: str, records: list[SliceRecord]) -> SeriesGroup:
    first = records[0].dataset
    group = SeriesGroup(key, records, str(first.get("SeriesDescription") or ""), str(first.get("Modality") or ""))
    group.records, notes = sort_records(records)
    group.notes.extend(notes)
    return group


def sort_records(records: list[SliceRecord]) -> tuple[list[SliceRecord], list[str]]:
    """Records sorted along the slice normal, else by instance number, else as given; with notes on fallbacks."""
    if len(records) < 2:
        return list(records), []
    if all(r.position is not None and r.orientation is not None for r in records):
        normal = slice_normal(records[0].orientation)
        return sorted(records, key=lambda r: (float(r.position @ normal), r.instance or 0)), []
    if all(r.instance is not None for r in records):
        return sorted(records, key=lambda r: r.instance), [
            "images have no ImagePositionPatient / ImageOrientationPatient: sorted by InstanceNumber"]
    return list(records), ["images have no position and no InstanceNumber: kept in file-name order"]


@dataclass(frozen=True)
class StackGeometry:
    """Spacing (slice, row, column) in mm, orientation codes, and the (slice, row, column) -> RAS mm affine."""

    spacing_mm: tuple[float, float, float]
    orientation: str
    affine: np.ndarray | None
    notes: tuple[str, ...] = ()


def stack_geometry(records: list[SliceRecord]) -> StackGeometry:
    """Geometry of sorted records (see ``StackGeometry``); missing tags fall back to 1 mm with a note."""
    notes: list[str] = []
    first = records[0]
    row_spacing, column_spacing = first.pixel_spacing or (1.0, 1.0)
    if first.pixel_spacing is None:
        notes.append("no PixelSpacing: 1 mm pixels assumed")
    slice_spacing = _slice_spacing(records, notes)
    if first.orientation is None or first.position is None:
        return StackGeometry((slice_spacing, row_spacing, column_spacing), "", None, tuple(notes))
    row_cosines, column_cosines = first.orientation[:3], first.orientation[3:]
    normal = slice_normal(first.orientation)
    lps = np.eye(4)
    lps[:3, 0] = normal * slice_spacing
    lps[:3, 1] = column_cosines * row_spacing
    lps[:3, 2] = row_cosines * column_spacing
    lps[:3, 3] = first.position
    codes = "".join(axis_code(direction) for direction in (normal, column_cosines, row_cosines))
    return StackGeometry((slice_spacing, row_spacing, column_spacing), codes, LPS_TO_RAS @ lps, tuple(notes))


def _slice_spacing(records: list[SliceRecord], notes: list[str]) -> float:
    first = records[0].dataset
    fallback = first_number(header_text(first, "SpacingBetweenSlices"), 0.0) or first_number(
        header_text(first, "SliceThickness"), 0.0)
    positioned = [r for r in records if r.position is not None and r.orientation is not None]
    if len(positioned) == len(records) > 1:
        normal = slice_normal(records[0].orientation)
        steps = np.diff([float(r.position @ normal) for r in records])
        if np.any(steps < 1e-4):
            notes.append(f"{int(np.sum(steps < 1e-4))} image(s) share a slice position (echoes or time points?)")
        moving = steps[steps >= 1e-4]
        if moving.size:
            if moving.max() > 1.1 * moving.min():
                notes.append(f"slice spacing varies from {moving.min():.3g} to {moving.max():.3g} mm; "
                             f"the median {np.median(moving):.3g} mm is used")
            return float(np.median(moving))
    if fallback > 0:
        return fallback
    if len(records) > 1:
        notes.append("no slice positions, SpacingBetweenSlices or SliceThickness: 1 mm slice spacing assumed")
    return 1.0


def axis_code(direction: np.ndarray) -> str:
    """Patient-axis letter (LPS convention) a direction vector mostly points to, e.g. (0, 0, 1) -> "S"."""
    axis = int(np.argmax(np.abs(direction)))
    return LPS_AXIS_CODES[axis][int(direction[axis] > 0)]
