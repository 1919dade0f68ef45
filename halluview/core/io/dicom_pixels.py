"""DICOM pixel decoding into a float32 volume in physical units.

Uncompressed little-endian 8-, 16- and 32-bit data (also deflated files, inflated on reading) is read straight
from the Pixel Data bytes (``np.frombuffer``) and reduced to its ``BitsStored`` bits ending at ``HighBit`` (bits above
it, e.g. overlays, are dropped; signed values are sign-extended from bit ``HighBit``), which is what pydicom's
``pixel_array`` returns for it, without its per-file overhead. Everything else (1-bit, big endian, colour,
compressed) goes through ``pixel_array`` after checking that pydicom has a decoder for the transfer syntax. A
missing decoder is reported with the ``pip install`` line that provides one.
"""
from __future__ import annotations

import os

import numpy as np
from pydicom import uid
from pydicom.dataset import Dataset

from .dicom_series import SliceRecord, frame_count, header_int, pixel_data_problem
from .errors import ScanReadError
from .guards import check_volume_size
from .limits import open_regular_file
from .registry import plain_reason

NATIVE_LITTLE_ENDIAN = frozenset(
    {uid.ImplicitVRLittleEndian, uid.ExplicitVRLittleEndian, uid.DeflatedExplicitVRLittleEndian}
)
NATIVE_DTYPES = {(8, 0): "u1", (8, 1): "i1", (16, 0): "<u2", (16, 1): "<i2", (32, 0): "<u4", (32, 1): "<i4"}
PIXEL_DATA_TAG = 0x7FE00010
LUMINANCE_WEIGHTS = np.array([0.299, 0.587, 0.114], dtype=np.float32)

_LIBJPEG = "pip install pylibjpeg pylibjpeg-libjpeg"
_OPENJPEG = "pip install pylibjpeg pylibjpeg-openjpeg"
#: What to install to decode each compressed transfer syntax that pydicom cannot decode on its own.
DECODER_INSTALL_HINTS: dict[str, str] = {
    uid.JPEGLSLossless: _LIBJPEG,
    uid.JPEGLSNearLossless: _LIBJPEG,
    uid.JPEGBaseline8Bit: _LIBJPEG,
    uid.JPEGExtended12Bit: _LIBJPEG,
    uid.JPEGLossless: _LIBJPEG,
    uid.JPEGLosslessSV1: _LIBJPEG,
    uid.JPEG2000Lossless: _OPENJPEG,
    uid.JPEG2000: _OPENJPEG,
    uid.HTJ2KLossless: _OPENJPEG,
    uid.HTJ2KLosslessRPCL: _OPENJPEG,
    uid.HTJ2K: _OPENJPEG,
    uid.RLELossless: "pip install pylibjpeg pylibjpeg-rle",
}


def transfer_syntax(dataset: Dataset) -> uid.UID | None:
    """The dataset's transfer syntax UID, or None when the file has no meta information."""
    meta = getattr(dataset, "file_meta", None)
    value = meta.get("TransferSyntaxUID") if meta is not None else None
    return uid.UID(str(value)) if value else None


def assemble_volume(path: str | os.PathLike, records: list[SliceRecord], max_bytes: int | None) -> np.ndarray:
    """Decode and rescale sorted records into a float32 (n, rows, columns) volume (``slope * stored + intercept``).

    Raises
    ------
    ScanReadError
        If the volume is too large or too small, a decoder is missing, or pixel data is damaged.
    """
    n_slices, rows, columns = len(records), records[0].rows, records[0].columns
    check_volume_size(path, (n_slices, rows, columns), max_bytes)
    volume = _allocate_volume((n_slices, rows, columns))
    multi_frame_cache: dict[int, np.ndarray] = {}
    for index, record in enumerate(records):
        try:
            pixels = _record_pixels(path, record, multi_frame_cache)
        except ScanReadError as error:
            raise ScanReadError(path, _in_file(record, error.reason, path)) from error
        except Exception as error:  # noqa: BLE001 - reading boundary: name the damaged file of a series
            raise ScanReadError(path, _in_file(record, plain_reason(error), path)) from error
        if record.slope == 1.0:
            np.add(pixels, np.float32(record.intercept), out=volume[index], casting="unsafe")
        else:
            np.multiply(pixels, np.float32(record.slope), out=volume[index], casting="unsafe")
            volume[index] += np.float32(record.intercept)
    return volume


def _allocate_volume(shape: tuple[int, int, int]) -> np.ndarray:
    """``np.empty`` float32 without numpy's transparent-huge-page hint for this one array.

    Filled slice by slice, the volume gains nothing from huge pages, while faulting them in (zeroing 2 MiB pages,
    compaction) made large series loads erratic, up to twice as slow on virtual machines. numpy exposes the hint
    only privately; where it is missing the array is allocated as usual.
    """
    multiarray = getattr(np, "_core", None) and getattr(np._core, "multiarray", None)
    set_hint = getattr(multiarray, "_set_madvise_hugepage", None)
    previous = set_hint(False) if set_hint is not None else None
    try:
        return np.empty(shape, dtype=np.float32)
    finally:
        if set_hint is not None:
            set_hint(previous)


def _record_pixels(path: str | os.PathLike, record: SliceRecord, cache: dict[int, np.ndarray]) -> np.ndarray:
    """Stored values of one record; a multi-frame file is decoded once and its frames taken from ``cache``."""
    problem = pixel_data_problem(record.dataset) if record.frame in (None, 0) else None
    if problem:
        raise ScanReadError(path, problem)
    if record.frame is None:
        return decode_frames(path, record.dataset)[0]
    key = id(record.dataset)
    if key not in cache:
        cache[key] = decode_frames(path, record.dataset)
    return cache[key][record.frame]


def _in_file(record: SliceRecord, reason: str, path: str | os.PathLike) -> str:
    """``reason`` prefixed with the image's file name when it is not the file that was opened (folder, DICOMDIR)."""
    filename = getattr(record.dataset, "filename", None)
    if not isinstance(filename, str) or not filename or os.path.abspath(filename) == os.path.abspath(path):
        return reason
    return f"image file {os.path.basename(filename)}: {reason}"


def decode_frames(path: str | os.PathLike, dataset: Dataset) -> np.ndarray:
    """All frames of ``dataset`` as a numeric (frames, rows, columns) array; colour is converted to luminance."""
    pixels = _native_pixels(dataset)
    if pixels is None:
        pixels = _decoded_pixels(path, dataset)
    n_frames, rows, columns = frame_count(dataset), int(dataset.Rows), int(dataset.Columns)
    if int(dataset.get("SamplesPerPixel") or 1) == 3 and pixels.shape[-1:] == (3,):
        pixels = np.tensordot(pixels.astype(np.float32), LUMINANCE_WEIGHTS, axes=([-1], [0]))
    if pixels.size != n_frames * rows * columns:
        raise ScanReadError(
            path, f"the pixel data holds {pixels.size} values, but the header describes {n_frames}×{rows}×{columns}"
        )
    return pixels.reshape(n_frames, rows, columns)


def _native_pixels(dataset: Dataset) -> np.ndarray | None:
    """Stored values read directly from uncompressed little-endian Pixel Data; None when that does not apply."""
    if transfer_syntax(dataset) not in NATIVE_LITTLE_ENDIAN or "PixelData" not in dataset:
        return None
    bits_allocated = header_int(dataset, "BitsAllocated", 0)
    key = (bits_allocated, header_int(dataset, "PixelRepresentation", 0))
    if header_int(dataset, "SamplesPerPixel", 1) != 1 or key not in NATIVE_DTYPES:
        return None
    dtype = np.dtype(NATIVE_DTYPES[key])
    n_values = frame_count(dataset) * header_int(dataset, "Rows", 0) * header_int(dataset, "Columns", 0)
    data = _pixel_bytes(dataset)
    if data is None or len(data) < n_values * dtype.itemsize:
        return None  # let pydicom report the short pixel data in its own words
    stored = np.frombuffer(data, dtype=dtype, count=n_values)
    return stored_bits(stored, header_int(dataset, "BitsStored", bits_allocated), header_int(dataset, "HighBit", -1))


def stored_bits(values: np.ndarray, bits_stored: int, high_bit: int) -> np.ndarray:
    """The ``bits_stored`` bits of each value that end at bit ``high_bit``, sign-extended for signed dtypes.

    Bits above ``high_bit`` (overlays, garbage) and below the stored range are discarded. An inconsistent header
    falls back like pydicom: ``bits_stored`` outside 1..bits allocated means all bits; ``high_bit`` outside
    ``bits_stored - 1``..bits allocated - 1 means ``bits_stored - 1``.

    Parameters
    ----------
    values : np.ndarray
        Integer pixel values as allocated (u1 / i1 / u2 / i2 / u4 / i4).
    bits_stored, high_bit : int
        The DICOM BitsStored and HighBit of the image.

    Returns
    -------
    np.ndarray
        ``values`` itself when every bit is used, else a new array of the same dtype.
    """
    bits_allocated = values.dtype.itemsize * 8
    if not 1 <= bits_stored <= bits_allocated:
        bits_stored = bits_allocated
    if not bits_stored - 1 <= high_bit < bits_allocated:
        high_bit = bits_stored - 1
    if bits_stored == bits_allocated:
        return values
    unsigned = values.astype(values.dtype.str.replace("i", "u"), copy=True)
    unsigned <<= np.uint8(bits_allocated - 1 - high_bit)  # drop the bits above HighBit
    shifted = unsigned.view(values.dtype)  # an arithmetic right shift of a signed view sign-extends
    shifted >>= np.uint8(bits_allocated - bits_stored)
    return shifted


def _pixel_bytes(dataset: Dataset) -> bytes | None:
    """The Pixel Data bytes; a deferred element is read straight from its offset (one read, no re-parsing)."""
    element = dataset.get_item(PIXEL_DATA_TAG, keep_deferred=True)
    filename, start = getattr(dataset, "filename", None), getattr(element, "value_tell", None)
    deferred = getattr(element, "value", b"") is None
    if deferred and isinstance(filename, str) and start is not None:
        with open_regular_file(filename) as stream:
            stream.seek(int(start))
            return stream.read(int(element.length))
    return dataset.PixelData


def _decoded_pixels(path: str | os.PathLike, dataset: Dataset) -> np.ndarray:
    syntax = transfer_syntax(dataset)
    hint = DECODER_INSTALL_HINTS.get(syntax or "", "")
    if syntax is not None and syntax.is_compressed:
        _require_decoder(path, syntax, hint)
    try:
        return np.asarray(dataset.pixel_array)
    except (RuntimeError, NotImplementedError) as error:
        detail = str(error).strip().splitlines()[0]
        advice = f"; installing a decoder may help: {hint}" if hint else ""
        raise ScanReadError(path, f"its pixel data could not be decoded ({detail}){advice}") from error


def _require_decoder(path: str | os.PathLike, syntax: uid.UID, hint: str) -> None:
    from pydicom.pixels import get_decoder

    try:
        decoder = get_decoder(syntax)
    except NotImplementedError as error:
        reason = f"its pixel data is compressed as '{syntax.name}', which pydicom cannot decode"
        raise ScanReadError(path, reason) from error
    if not decoder.is_available:
        advice = hint or "install one of: " + "; ".join(decoder.missing_dependencies)
        raise ScanReadError(
            path, f"its pixel data is compressed as '{syntax.name}' and no decoder for it is installed: {advice}"
        )
