"""Opening one DICOM file safely: regular files only, and Deflated files inflated within a bound.

pydicom inflates a Deflated Explicit VR Little Endian file whole, with no limit, so a small file can claim gigabytes.
Here the inflation is bounded by what the file's own header describes: the header is inflated first (in growing
steps) up to the top-level Pixel Data element, then the rest only up to the pixel bytes its Rows, Columns,
NumberOfFrames, SamplesPerPixel and BitsAllocated describe (plus ``TRAILER_BYTES`` for elements after it), and never
beyond the memory limit. The inflated dataset is then parsed from memory, so its pixel data is not deferred.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, BinaryIO

import pydicom
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filereader import _read_file_meta_info, read_dataset, read_preamble
from pydicom.tag import BaseTag
from pydicom.uid import DeflatedExplicitVRLittleEndian

from .dicom_series import frame_count, header_int, header_text
from .errors import ScanReadError
from .guards import check_byte_count, human_bytes, volume_byte_limit
from .limits import BoundedInflater, InflationLimitError, open_regular_file

PIXEL_DATA_TAG = BaseTag(0x7FE00010)
#: Inflated header bytes tried first; doubled until the Pixel Data element is reached.
FIRST_HEADER_BYTES = 1 << 20
#: Elements allowed after the Pixel Data (signatures, padding), in bytes.
TRAILER_BYTES = 1 << 20
#: Element header of Pixel Data in explicit VR little endian: tag, VR, 2 reserved bytes, 4-byte length.
PIXEL_ELEMENT_HEADER_BYTES = 12


def read_dicom_header(path: Path, *, defer_size: int | None, force: bool = False) -> Dataset:
    """Read a DICOM file (pixel data larger than ``defer_size`` deferred, except for Deflated files).

    Raises
    ------
    ScanReadError
        If a Deflated file inflates beyond what its header describes or beyond the memory limit.
    OSError, pydicom.errors.InvalidDicomError, ...
        As ``pydicom.dcmread`` (the caller translates them); ``OSError`` for FIFOs, sockets and devices.
    """
    with open_regular_file(path) as stream:
        opened = _deflated_start(stream, force)
        if opened is None:
            stream.seek(0)
            return pydicom.dcmread(stream, defer_size=defer_size, force=force)
        preamble, file_meta = opened
        return _read_deflated(path, stream, preamble, file_meta)


def _deflated_start(stream: BinaryIO, force: bool) -> tuple[bytes | None, FileMetaDataset] | None:
    """Preamble and file meta of a Deflated file, the stream left at its dataset; None for any other file."""
    try:
        preamble = read_preamble(stream, force)
        file_meta = _read_file_meta_info(stream)
    except Exception:  # noqa: BLE001 - not our concern here: dcmread reports it in its own words
        return None
    if str(file_meta.get("TransferSyntaxUID") or "") != DeflatedExplicitVRLittleEndian:
        return None
    return preamble, file_meta


def _read_deflated(path: Path, stream: BinaryIO, preamble: bytes | None, file_meta: FileMetaDataset) -> Dataset:
    inflater = BoundedInflater(stream, -15)
    limit = volume_byte_limit()
    try:
        header_end, pixel_bytes = _inflate_header(path, inflater, limit)
        allowed = header_end + PIXEL_ELEMENT_HEADER_BYTES + pixel_bytes + TRAILER_BYTES
        check_byte_count(path, allowed, "inflating the deflated DICOM data")
        inflated = inflater.inflate_all(allowed, "the deflated data")
    except InflationLimitError as error:
        raise ScanReadError(path, f"its deflated data inflates beyond the {human_bytes(allowed)} its header "
                                  "describes (a decompression bomb?)") from error
    dataset = read_dataset(DicomBytesIO(bytes(inflated)), False, True)
    result = FileDataset(os.fspath(path), dataset, preamble, file_meta, False, True)
    result.set_original_encoding(False, True, dataset._character_set)
    return result


def _inflate_header(path: Path, inflater: BoundedInflater, limit: int) -> tuple[int, int]:
    """Inflate until the top-level Pixel Data element; its offset and the pixel bytes the header describes.

    Raises
    ------
    ScanReadError
        If the header alone exceeds the memory limit.
    """
    attempt = FIRST_HEADER_BYTES
    while True:
        inflated = inflater.inflate_to(attempt)
        header, pixel_offset = _parse_until_pixels(bytes(inflated))
        if pixel_offset is not None or inflater.finished:
            break
        if attempt >= limit:
            raise ScanReadError(path, f"its deflated header inflates beyond the {human_bytes(limit)} memory limit "
                                      "without reaching the pixel data")
        attempt = min(attempt * 2, limit)
    if pixel_offset is None:  # the whole stream is inflated already: nothing more to bound
        return len(inflated), 0
    return pixel_offset, _described_pixel_bytes(header)


def _parse_until_pixels(data: bytes) -> tuple[Dataset, int | None]:
    """Parse the top-level elements of inflated data up to Pixel Data; (header, offset of Pixel Data or None)."""
    found: dict[str, Any] = {}
    buffer = DicomBytesIO(data)

    def at_pixel_data(tag: BaseTag, _vr: str | None, _length: int) -> bool:
        if tag == PIXEL_DATA_TAG:
            found["offset"] = True
            return True
        return False

    try:
        header = read_dataset(buffer, False, True, stop_when=at_pixel_data)
    except (EOFError, ValueError, KeyError, IndexError, OSError):
        return Dataset(), None
    return header, buffer.tell() if found else None


def _described_pixel_bytes(header: Dataset) -> int:
    """Uncompressed pixel bytes the image description of ``header`` calls for."""
    rows, columns = header_int(header, "Rows", 0), header_int(header, "Columns", 0)
    samples, bits = header_int(header, "SamplesPerPixel", 1), max(header_int(header, "BitsAllocated", 16), 1)
    n_bits = frame_count(header) * rows * columns * max(samples, 1) * bits
    if header_text(header, "PhotometricInterpretation") == "YBR_FULL_422":
        n_bits = n_bits * 2 // 3
    return (n_bits + 7) // 8
