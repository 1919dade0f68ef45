"""NumPy reader: ``.npy`` (one array) and ``.npz`` (choose an array with ``dataset=``).

A 2-D array is one slice, a 3-D array is slices first. Pickled (object) arrays are never loaded
(``allow_pickle=False``). ``.npy`` files are memory-mapped, so the size check happens before any data is read.
"""
from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

from ..scan import Scan
from .errors import ContentChoice, ScanReadError
from .guards import check_volume_size, default_window, format_shape, sanitise, to_float32
from .registry import FileHead, ReadRequest

NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = b"PK\x03\x04"
EMPTY_ZIP_MAGIC = b"PK\x05\x06"
NPY_HEADER_READERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}


def sniff_numpy(head: FileHead) -> bool:
    """``\\x93NUMPY`` (.npy) or a zip archive (.npz) at byte 0."""
    return not head.is_dir and head.head.startswith((NPY_MAGIC, ZIP_MAGIC, EMPTY_ZIP_MAGIC))


def _is_npy(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(len(NPY_MAGIC)) == NPY_MAGIC


def _volume_shape(path: Path, name: str, shape: tuple[int, ...], dtype: np.dtype) -> tuple[int, ...]:
    if dtype.kind not in "biufc":
        raise ScanReadError(path, f"array '{name}' holds {dtype} values, not numbers")
    if len(shape) not in (2, 3):
        raise ScanReadError(path, f"array '{name}' is {len(shape)}-D ({format_shape(shape)}); 2-D or 3-D is needed")
    return shape if len(shape) == 3 else (1, *shape)


def _check_npy_header(path: Path) -> None:
    """Refuse, before memory-mapping, a .npy of Python objects or one shorter than its header says."""
    with open(path, "rb") as stream:
        version = np.lib.format.read_magic(stream)
        if version not in NPY_HEADER_READERS:
            raise ScanReadError(path, f"it uses .npy format version {version}, not supported")
        shape, _fortran_order, dtype = NPY_HEADER_READERS[version](stream)
        data_offset = stream.tell()
    if np.dtype(dtype).hasobject:
        raise ScanReadError(path, "the array holds Python objects (pickled data), which are never loaded")
    needed = data_offset + int(np.prod(shape, dtype=np.float64)) * np.dtype(dtype).itemsize
    size = path.stat().st_size
    if size < needed:
        raise ScanReadError(path, f"the file is truncated: its header describes {needed} bytes, the file has {size}")


def list_numpy(path: Path) -> list[ContentChoice]:
    """One choice for a .npy file; one per 2-D / 3-D numeric array of an .npz archive."""
    if _is_npy(path):
        _check_npy_header(path)
        array = np.load(path, mmap_mode="r", allow_pickle=False)
        shape = _volume_shape(path, "array", array.shape, array.dtype)
        return [ContentChoice("dataset", "array", f"array {format_shape(shape)}", shape)]
    choices = []
    with np.load(path, allow_pickle=False):  # refuses an archive numpy cannot open
        for name, (shape, dtype) in _npz_members(path).items():
            if dtype.kind in "biufc" and len(shape) in (2, 3):
                volume_shape = shape if len(shape) == 3 else (1, *shape)
                choices.append(ContentChoice("dataset", name, f"array '{name}' {format_shape(volume_shape)}",
                                             volume_shape))
    return choices


def _npz_members(path: Path) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """Shape and dtype of each array in an .npz, read from the member headers only."""
    members = {}
    with zipfile.ZipFile(path) as bundle:
        for member in bundle.namelist():
            if not member.endswith(".npy"):
                continue
            name = member[: -len(".npy")]
            with bundle.open(member) as stream:
                version = np.lib.format.read_magic(stream)
                if version not in NPY_HEADER_READERS:
                    raise ScanReadError(path, f"array '{name}' uses .npy format version {version}, not supported")
                shape, _fortran_order, dtype = NPY_HEADER_READERS[version](stream)
            members[name] = (tuple(int(n) for n in shape), np.dtype(dtype))
    return members


def read_numpy(path: Path, request: ReadRequest) -> Scan:
    """Read a .npy array or the chosen (default: first) array of an .npz archive."""
    if _is_npy(path):
        if request.choice not in (None, "array"):
            raise ScanReadError(path, f"a .npy file holds one array; there is no dataset '{request.choice}'")
        _check_npy_header(path)
        values, name = np.load(path, mmap_mode="r", allow_pickle=False), "array"
        return _scan_of(path, values, name, request)
    with np.load(path, allow_pickle=False) as archive:
        members = _npz_members(path)
        usable = [n for n, (shape, dtype) in members.items() if dtype.kind in "biufc" and len(shape) in (2, 3)]
        name = usable[0] if request.choice is None and usable else str(request.choice)
        if name not in members:
            listing = ", ".join(usable) or "none"
            raise ScanReadError(path, f"it has no 2-D or 3-D numeric array '{name}'; its arrays are: {listing}")
        shape = _volume_shape(path, name, *members[name])
        check_volume_size(path, shape, request.max_bytes)
        return _scan_of(path, archive[name], name, request)


def _scan_of(path: Path, values: np.ndarray, name: str, request: ReadRequest) -> Scan:
    shape = _volume_shape(path, name, values.shape, values.dtype)
    check_volume_size(path, shape, request.max_bytes)
    if values.dtype.kind == "c":
        request.warnings.append(f"array '{name}' is complex: the magnitude is shown")
    volume = np.array(to_float32(np.asarray(values)).reshape(shape), dtype=np.float32, copy=True)
    volume = sanitise(volume, path, request.warnings)
    return Scan(
        volume=volume,
        window=default_window(volume[len(volume) // 2]),
        meta={"format": "NumPy", "choice": name},
        source=os.fspath(path),
    )

