"""Reading and writing scans: DICOM, NIfTI, HDF5 (fastMRI and generic), NumPy.

Public API
----------
read_scan(path, *, series=None, volume=None, dataset=None, max_bytes=None) -> Scan
list_contents(path) -> list[ContentChoice]
ScanReadError, ScanWriteError, ContentChoice
write_nifti, write_npz, write_png, write_dicom_series (``writers``)
MAX_VOLUME_BYTES : None (default: the limit follows the memory available now, see ``limits``) or a fixed number of
    bytes: the most a reader allocates or decompresses for one read (assign ``halluview.core.io.MAX_VOLUME_BYTES``).
    The environment variable ``HALLUVIEW_MEMORY_LIMIT`` (e.g. ``512M``) fixes the default instead.

Readers are chosen by content (magic bytes), in this order: NumPy, HDF5, NIfTI, DICOM (which also takes folders).
Only regular files and folders are read (FIFOs, sockets and devices are refused without being opened); HDF5 external
links, external storage and virtual datasets are refused; a DICOMDIR only reads files inside its own folder.
"""
from __future__ import annotations

MAX_VOLUME_BYTES: int | None = None

# Importing a reader module registers it; the import order is the sniffing order.
from . import numpy_reader, hdf5_reader, nifti_reader, dicom_reader  # noqa: E402,F401,I001
from .errors import ContentChoice, ScanReadError, ScanWriteError  # noqa: E402
from .lazy import LazyH5Dataset, LazySliceVolume  # noqa: E402
from .registry import list_contents, read_scan  # noqa: E402
from .writers import write_dicom_series, write_nifti, write_npz, write_png  # noqa: E402

__all__ = [
    "MAX_VOLUME_BYTES",
    "ContentChoice",
    "LazyH5Dataset",
    "LazySliceVolume",
    "ScanReadError",
    "ScanWriteError",
    "list_contents",
    "read_scan",
    "write_dicom_series",
    "write_nifti",
    "write_npz",
    "write_png",
]
