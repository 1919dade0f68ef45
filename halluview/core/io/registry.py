"""Format registry: readers are chosen by what a file contains (magic bytes), the name only explains failures.

Each format module registers a :class:`FormatReader` with :func:`register_reader`. ``read_scan`` and
``list_contents`` sniff the path, hand it to the first reader whose ``sniff`` accepts it, and turn every exception
the reader lets through into a :class:`ScanReadError` that says in plain words what is wrong.
"""
from __future__ import annotations

import gzip
import os
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..scan import Scan
from .errors import ContentChoice, ScanReadError
from .guards import recorded_library_warnings
from .limits import NotRegularFileError, non_regular_reason, open_regular_file

HEAD_BYTES = 4096
GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class FileHead:
    """What sniffers look at: the start of a file (and of its gzip content), or the fact that it is a folder."""

    path: Path
    is_dir: bool
    size: int = 0
    head: bytes = b""
    gunzipped: bytes = b""

    @classmethod
    def of(cls, path: Path) -> FileHead:
        """Read the first bytes of ``path`` (at most ``HEAD_BYTES``, plus as many of its gzip-decoded content)."""
        if path.is_dir():
            return cls(path, True)
        with open_regular_file(path) as handle:
            head = handle.read(HEAD_BYTES)
            size = os.fstat(handle.fileno()).st_size
        return cls(path, False, size, head, _gunzipped_head(head))


@dataclass(frozen=True)
class ReadRequest:
    """What the caller asked for: the choice value for the reader's choice keyword, and the memory limit."""

    choice: Any = None
    max_bytes: int | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FormatReader:
    """One readable format.

    Attributes
    ----------
    name : str
        Short name for messages ("DICOM", "NIfTI").
    sniff : callable
        ``FileHead -> bool``: whether the content is in this format.
    read : callable
        ``(Path, ReadRequest) -> Scan``.
    list_contents : callable
        ``Path -> list[ContentChoice]``.
    choice_kind : str
        The ``read_scan`` keyword that chooses among contents ("series", "volume", "dataset").
    suffixes : tuple of str
        Usual file name endings, used only to explain a failed sniff.
    """

    name: str
    sniff: Callable[[FileHead], bool]
    read: Callable[[Path, ReadRequest], Scan]
    list_contents: Callable[[Path], list[ContentChoice]]
    choice_kind: str
    suffixes: tuple[str, ...] = ()


READERS: list[FormatReader] = []

#: Plain-language reasons for exceptions the parsing libraries raise on damaged files (looked up along the MRO).
PLAIN_REASONS: dict[type, str] = {
    EOFError: "the file ends early (it looks truncated)",
    zlib.error: "its compressed data is corrupt",
    gzip.BadGzipFile: "it is not a valid gzip file",
    zipfile.BadZipFile: "it is not a valid zip (.npz) archive",
    struct.error: "its header is malformed",
    MemoryError: "there is not enough memory to load it",
    PermissionError: "permission to read it was denied",
    FileNotFoundError: "a file it refers to does not exist",
    UnicodeError: "its header holds text that cannot be decoded",
}


def register_reader(reader: FormatReader) -> FormatReader:
    """Add ``reader`` to the registry (sniffed in registration order) and return it."""
    READERS[:] = [existing for existing in READERS if existing.name != reader.name] + [reader]
    return reader


def read_scan(
    path: str | os.PathLike,
    *,
    series: str | None = None,
    volume: int | None = None,
    dataset: str | None = None,
    max_bytes: int | None = None,
) -> Scan:
    """Read a scan from a DICOM file / folder / DICOMDIR, NIfTI, HDF5 (fastMRI or generic), .npy or .npz file.

    Parameters
    ----------
    path : str or os.PathLike
        File or folder. The format is recognised from the content, not the name.
    series : str, optional
        DICOM: which series (a ``ContentChoice.key`` from ``list_contents``); default the first listed.
    volume : int, optional
        4-D NIfTI: which volume along the fourth axis; default 0.
    dataset : str, optional
        HDF5 / .npz: which dataset or array; default the first listed (``kspace`` for fastMRI files).
    max_bytes : int, optional
        Refuse volumes whose float32 size exceeds this; default ``halluview.core.io.MAX_VOLUME_BYTES``.

    Returns
    -------
    Scan
        The loaded scan (see ``halluview.core.scan.Scan``); ``meta["warnings"]`` lists what was odd about the file.

    Raises
    ------
    ScanReadError
        For any unreadable, damaged, unsupported or too large input.
    """
    location = Path(os.fspath(path)).expanduser()
    choices = {kind: value for kind, value in (("series", series), ("volume", volume), ("dataset", dataset))}
    reader = reader_for(location)
    chosen = {kind: value for kind, value in choices.items() if value is not None}
    unexpected = sorted(set(chosen) - {reader.choice_kind})
    if unexpected:
        raise ScanReadError(
            location, f"a {reader.name} input is chosen with {reader.choice_kind}=, it has no {unexpected[0]}= choice"
        )
    request = ReadRequest(chosen.get(reader.choice_kind), max_bytes)
    with translated_errors(location), recorded_library_warnings(request.warnings):
        scan = reader.read(location, request)
    scan.meta["warnings"] = request.warnings  # the same list: lazy volumes append to it when slices are read
    return scan


def list_contents(path: str | os.PathLike) -> list[ContentChoice]:
    """The scans ``path`` holds, each with a label and the ``read_scan`` keyword that loads it.

    Returns
    -------
    list of ContentChoice
        One entry for a plain single scan; several for a folder of series, a 4-D NIfTI, an HDF5 file or an .npz.
        The first entry is what ``read_scan`` loads when no choice is given.

    Raises
    ------
    ScanReadError
        If the path cannot be read or holds no scan.
    """
    location = Path(os.fspath(path)).expanduser()
    reader = reader_for(location)
    with translated_errors(location), recorded_library_warnings([]):
        contents = reader.list_contents(location)
    if not contents:
        raise ScanReadError(location, f"the {reader.name} input holds no readable image")
    return contents


def reader_for(location: Path) -> FormatReader:
    """The registered reader whose sniffer accepts ``location``.

    Raises
    ------
    ScanReadError
        If the path does not exist, cannot be opened, or no reader recognises its content.
    """
    if not location.exists():
        raise ScanReadError(location, "the path does not exist")
    if not location.is_dir():
        with translated_errors(location):
            reason = non_regular_reason(location)
        if reason:
            raise ScanReadError(location, f"{reason}; only files and folders hold scans")
    with translated_errors(location):
        head = FileHead.of(location)
    for reader in READERS:
        if reader.sniff(head):
            return reader
    raise ScanReadError(location, _unrecognised_reason(head))


@contextmanager
def translated_errors(path: Path) -> Iterator[None]:
    """Turn any exception except ``ScanReadError`` raised inside the block into a ``ScanReadError`` for ``path``."""
    try:
        yield
    except ScanReadError:
        raise
    except Exception as error:  # noqa: BLE001 - the reading boundary: a damaged file must never crash the caller
        raise ScanReadError(path, plain_reason(error)) from error


def plain_reason(error: Exception) -> str:
    """A plain-language reason for an exception raised while parsing a file, with the technical detail after it."""
    if isinstance(error, NotRegularFileError):
        return f"{error.reason}; only files and folders hold scans"
    detail = str(error).strip().splitlines()[0] if str(error).strip() else ""
    detail = f"{type(error).__name__}: {detail}" if detail else type(error).__name__
    for cls in type(error).__mro__:
        if cls in PLAIN_REASONS:
            return f"{PLAIN_REASONS[cls]} ({detail})"
    return f"its content is damaged or not supported ({detail})"


def _unrecognised_reason(head: FileHead) -> str:
    if head.is_dir:
        return "the folder holds no readable image"
    if head.size == 0:
        return "the file is empty"
    known = ", ".join(reader.name for reader in READERS)
    named_as = [reader for reader in READERS if head.path.name.lower().endswith(reader.suffixes)]
    if named_as:
        reason = f"the name ends like a {named_as[0].name} file, but the content is not {named_as[0].name}"
        reason += " (no " + _expected_signature(named_as[0].name) + ")"
    else:
        reason = f"its content is not a format HalluView reads ({known})"
    if head.size < 352:
        reason += f"; the file is only {head.size} bytes long and may be truncated"
    return reason


def _expected_signature(name: str) -> str:
    signatures = {
        "DICOM": "'DICM' marker at byte 128 and no DICOM data element at the start",
        "NIfTI": "NIfTI header size 348 or 540 at the start",
        "HDF5": "HDF5 signature at the start",
        "NumPy": "NumPy '\\x93NUMPY' or zip signature at the start",
    }
    return signatures.get(name, "recognisable signature")


def _gunzipped_head(head: bytes) -> bytes:
    """As much of the decompressed start of a gzip file as its first bytes give (a truncated file still sniffs)."""
    if not head.startswith(GZIP_MAGIC):
        return b""
    for compressed in (head, head[:-8]):  # without the trailer: a bad CRC is the reader's to report, not the sniffer's
        try:
            return zlib.decompressobj(wbits=31).decompress(compressed, HEAD_BYTES)
        except zlib.error:
            continue
    return b""
