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

Readers are chosen by content (magic bytes), in this order: NumPy, HDF5, NIfTI, DICOM (which also takes folders);
each format's library (h5py, nibabel, pydicom) loads with the first file of that format (:mod:`.formats`).
Only regular files and folders are read (FIFOs, sockets and devices are refused without being opened); HDF5 external
links, external storage and virtual datasets are refused; a DICOMDIR only reads files inside its own folder.
"""
from __future__ import annotations

MAX_VOLUME_BYTES: int | None = None

from . import formats  # noqa: E402,F401  - registers the readers, in sniffing order
from .errors import ContentChoice, ScanReadError, ScanWriteError  # noqa: E402
from .lazy import LazyH5Dataset, LazySliceVolume  # noqa: E402
from .registry import list_contents, read_scan  # noqa: E402

WRITERS = ("write_dicom_series", "write_nifti", "write_npz", "write_png")


def __getattr__(name: str):
    """The writers, imported on first use (the DICOM writer needs pydicom)."""
    if name in WRITERS:
        from . import writers

        return getattr(writers, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
