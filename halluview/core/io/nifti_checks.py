"""Checks of a NIfTI file's data against its header, made before any voxel is read or listed.

* Uncompressed: the file must be at least as long as the header's data offset plus all its volumes.
* Gzip-compressed (``.nii.gz``): the whole stream is inflated once, in constant memory (the output is counted, not
  kept), so that a wrong CRC-32 or length in a gzip trailer is refused (nibabel reads only the bytes it needs and
  never checks the trailer), data shorter than the header describes is refused, and data that inflates beyond what
  the header describes (plus ``TRAILING_BYTES``) is refused as soon as it does.
"""
from __future__ import annotations

import math
import os
import zlib
from pathlib import Path
from typing import Any, BinaryIO

from .errors import ScanReadError
from .limits import BoundedInflater, InflationLimitError, open_regular_file

GZIP_MAGIC = b"\x1f\x8b"
#: Bytes a compressed file may hold beyond what its header describes (NIfTI data ends the file).
TRAILING_BYTES = 1 << 20
#: ``list_contents`` offers one choice per volume; more volumes than this are refused as implausible.
MAX_LISTED_VOLUMES = 100_000


def described_bytes(image: Any) -> int:
    """Data offset plus the bytes of every voxel of every volume, as the header describes them."""
    header = image.header
    n_values = math.prod(int(n) for n in image.shape)
    return int(header.get_data_offset()) + n_values * header.get_data_dtype().itemsize


def check_data_length(path: Path, image: Any) -> None:
    """Refuse a file whose data does not match its header (see the module docstring).

    Raises
    ------
    ScanReadError
        If the data is shorter than described, longer than described for a compressed file, or its gzip trailer
        (CRC-32, length) does not match its content.
    """
    data_file = Path(image.file_map["image"].filename or path)
    needed = described_bytes(image)
    with open_regular_file(data_file) as stream:
        compressed = stream.read(2) == GZIP_MAGIC
        stream.seek(0)
        if not compressed:
            size = os.fstat(stream.fileno()).st_size
            if size < needed:
                raise ScanReadError(path, f"the file is truncated: its header describes {needed} bytes, "
                                          f"the file has {size}")
            return
        inflated = _inflated_length(path, stream, needed + TRAILING_BYTES, needed)
    if inflated < needed:
        raise ScanReadError(path, f"the file is truncated: its header describes {needed} bytes, its compressed "
                                  f"data holds {inflated}")


def _inflated_length(path: Path, stream: BinaryIO, allowed: int, described: int | None = None) -> int:
    """Total inflated length of every gzip member of ``stream``, verifying each trailer; at most ``allowed``."""
    total = 0
    while True:
        inflater = BoundedInflater(stream, 31, keep=False)
        try:
            inflater.inflate_all(allowed - total, "the compressed data")
        except InflationLimitError as error:
            raise ScanReadError(path, f"its compressed data inflates beyond the {described or allowed} bytes its "
                                      "header describes (a decompression bomb?)") from error
        except EOFError as error:
            raise ScanReadError(path, "its compressed data ends early (the file is truncated)") from error
        except zlib.error as error:
            raise ScanReadError(path, f"its compressed data is corrupt: the gzip check of its content failed "
                                      f"({error})") from error
        total += inflater.size
        rest = inflater.unused_data + stream.read(len(GZIP_MAGIC))
        if not rest.startswith(GZIP_MAGIC):
            if rest.strip(b"\0") or stream.read(TRAILING_BYTES).strip(b"\0"):
                raise ScanReadError(path, "it holds other data after the end of its compressed stream")
            return total
        stream.seek(stream.tell() - len(rest))


def check_volume_count(path: Path, n_volumes: int) -> None:
    """Refuse listing more volumes than ``MAX_LISTED_VOLUMES``."""
    if n_volumes > MAX_LISTED_VOLUMES:
        raise ScanReadError(path, f"its header describes {n_volumes} volumes, more than the {MAX_LISTED_VOLUMES} "
                                  "HalluView lists")


def check_gzip_integrity(path: Path, max_bytes: int = 1 << 28) -> None:
    """Refuse a gzip file whose stream is corrupt (CRC, length, truncation); used to explain a failed header read.

    Only the first ``max_bytes`` inflated bytes are examined (constant memory).
    """
    with open_regular_file(path) as stream:
        if stream.read(2) != GZIP_MAGIC:
            return
        stream.seek(0)
        try:
            _inflated_length(path, stream, max_bytes)
        except ScanReadError as error:
            if "beyond" not in error.reason:
                raise
