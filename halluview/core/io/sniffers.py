"""What each format's content starts with: the sniffers the registry tries in order, on the first bytes alone.

Kept apart from the readers so that recognising a file needs no format library (h5py, nibabel, pydicom): those load
when a file of their format is read (:mod:`.formats`).
"""
from __future__ import annotations

from .registry import FileHead

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
#: HDF5 allows a user block before the superblock; the signature then sits at one of these offsets.
SIGNATURE_OFFSETS = (0, 512, 1024, 2048)
NIFTI_HEADER_SIZES = (348, 540)
NO_PREAMBLE_STARTS = (b"\x02\x00", b"\x08\x00")


def sniff_hdf5(head: FileHead) -> bool:
    """The HDF5 signature at byte 0 (or after a user block of 512, 1024 or 2048 bytes)."""
    return not head.is_dir and any(head.head[o : o + 8] == HDF5_SIGNATURE for o in SIGNATURE_OFFSETS)


def _looks_like_nifti(start: bytes) -> bool:
    if len(start) < 4:
        return False
    sizes = {int.from_bytes(start[:4], "little"), int.from_bytes(start[:4], "big")}
    return bool(sizes & set(NIFTI_HEADER_SIZES))


def sniff_nifti(head: FileHead) -> bool:
    """``sizeof_hdr`` 348 (NIfTI-1) or 540 (NIfTI-2) at byte 0, of the file or of its gzip content."""
    return not head.is_dir and (_looks_like_nifti(head.head) or _looks_like_nifti(head.gunzipped))


def sniff_dicom(head: FileHead) -> bool:
    """A folder, a file with 'DICM' at byte 128, or a preamble-less file starting with a group 0002/0008 tag."""
    if head.is_dir:
        return True
    if head.head[128:132] == b"DICM":
        return True
    explicit_vr_start = head.head[:2] in NO_PREAMBLE_STARTS and head.head[4:6].isalpha()
    return explicit_vr_start or _implicit_vr_start(head.head)


def _implicit_vr_start(start: bytes) -> bool:
    """Implicit VR little endian without preamble: (0008,xxxx) tag followed by a small 4-byte length."""
    if len(start) < 8 or start[:2] != b"\x08\x00":
        return False
    return int.from_bytes(start[4:8], "little") < 1024
