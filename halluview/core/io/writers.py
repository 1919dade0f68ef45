"""Writers: NIfTI (keeps the input's affine), NPZ, 8-bit PNG, and a derived DICOM series (``dicom_writer``).

Every write is atomic: data goes to a temporary file in the destination folder, which then replaces the
destination with ``os.replace`` (a reader never sees a half-written file; a failed write leaves nothing behind).
Writers refuse to write onto the file or into the folder a scan was read from (``ScanWriteError``).
"""
from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import numpy as np

from ..atomic import atomic_file
from ..scan import Scan
from .dicom_writer import write_dicom_series
from .write_support import as_volume, display_affine, refuse_input

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def write_nifti(path: str | os.PathLike, volume: np.ndarray, like: Scan | None = None) -> Path:
    """Write ``volume`` (slices, H, W) as NIfTI-1 (``.nii`` or ``.nii.gz``), float32.

    When ``like`` was read from a NIfTI file, the data are put back into that file's axis order and saved with its
    affine unchanged (so the result overlays the input in any viewer); otherwise ``like.affine`` (e.g. from DICOM
    positions) or its spacing is used.

    Parameters
    ----------
    path : str or os.PathLike
        Output file.
    volume : np.ndarray
        (slices, H, W) in the layout of ``like.volume`` (or one 2-D slice).
    like : Scan, optional
        The scan the volume derives from (geometry, source check).

    Returns
    -------
    Path
        The written file.
    """
    import nibabel as nib
    from nibabel.orientations import apply_orientation, axcodes2ornt, io_orientation, ornt_transform

    target = refuse_input(path, like)
    values = as_volume(volume)
    affine = display_affine(like)
    meta = like.meta if like is not None else {}
    if "source_affine" in meta:
        source_affine = np.asarray(meta["source_affine"], dtype=float)
        transform = ornt_transform(axcodes2ornt(("S", "P", "L")), io_orientation(source_affine))
        reoriented = apply_orientation(values, transform)
        if list(reoriented.shape) == list(meta.get("source_shape", [])):
            values, affine = reoriented, source_affine
    image = nib.Nifti1Image(np.ascontiguousarray(values, dtype=np.float32), affine)
    image.header.set_xyzt_units("mm")
    image.set_qform(affine, code=1)
    image.set_sform(affine, code=1)
    with atomic_file(target) as temporary:
        nib.save(image, os.fspath(temporary))
    return target


def write_npz(path: str | os.PathLike, volume: np.ndarray, like: Scan | None = None) -> Path:
    """Write ``volume`` and its geometry (``spacing_mm``, ``affine``, ``window``, ``modality``, ``units``) as .npz.

    Returns
    -------
    Path
        The written file; ``read_scan`` reads its ``volume`` array back.
    """
    target = refuse_input(path, like)
    values = as_volume(volume)
    extras = {
        "spacing_mm": np.asarray(like.spacing_mm if like else (1.0, 1.0, 1.0), dtype=np.float64),
        "affine": display_affine(like),
        "window": np.asarray(like.window if like and like.window else (np.nan, np.nan), dtype=np.float64),
        "modality": np.asarray(like.modality if like else "OT"),
        "units": np.asarray(like.units if like else "a.u."),
    }
    with atomic_file(target) as temporary, open(temporary, "wb") as stream:
        np.savez_compressed(stream, volume=values, **extras)
    return target


def window_to_uint8(image: np.ndarray, window: tuple[float, float]) -> np.ndarray:
    """Map ``centre ± width / 2`` to 0..255 (clipped), like a display window."""
    centre, width = float(window[0]), max(float(window[1]), 1e-12)
    scaled = (np.asarray(image, dtype=np.float64) - (centre - width / 2)) / width * 255.0
    return np.clip(np.round(np.nan_to_num(scaled, nan=0.0)), 0, 255).astype(np.uint8)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def write_png(
    path: str | os.PathLike, image: np.ndarray, window: tuple[float, float], like: Scan | None = None
) -> Path:
    """Write one 2-D image as an 8-bit greyscale PNG through a display window (no imaging library needed).

    Parameters
    ----------
    path : str or os.PathLike
        Output file.
    image : np.ndarray
        (H, W) image in physical units.
    window : tuple of float
        (centre, width) mapped to black..white.
    like : Scan, optional
        The scan the image derives from (only to refuse writing onto its source).

    Returns
    -------
    Path
        The written file.
    """
    target = refuse_input(path, like)
    pixels = window_to_uint8(image, window)
    if pixels.ndim != 2 or min(pixels.shape) < 1:
        raise ValueError(f"write_png needs one 2-D image, got shape {pixels.shape}")
    height, width = pixels.shape
    rows = b"".join(b"\x00" + row.tobytes() for row in pixels)
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    payload = PNG_SIGNATURE + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", zlib.compress(rows, 6))
    payload += _png_chunk(b"IEND", b"")
    with atomic_file(target) as temporary:
        temporary.write_bytes(payload)
    return target


__all__ = ["write_dicom_series", "write_nifti", "write_npz", "write_png"]
