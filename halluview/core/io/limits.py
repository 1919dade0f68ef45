"""Resource limits for reading untrusted files: a memory budget that follows the machine, regular files only.

Memory budget
-------------
Readers refuse, before allocating or inflating, anything that would need more than :func:`memory_limit_bytes`:
half of the memory the system reports as available (``MemAvailable`` in ``/proc/meminfo``, else the free physical
pages), read at the time of the check. The environment variable ``HALLUVIEW_MEMORY_LIMIT`` replaces it with a fixed
number of bytes (suffixes K, M, G, T accepted: ``512M``), e.g. to test the refusals with a small limit.

Regular files
-------------
Opening a FIFO for reading blocks until a writer appears, and devices may never end. :func:`open_regular_file`
opens without blocking and refuses anything that is not a regular file, so such paths fail at once with a clear
message instead of hanging.
"""
from __future__ import annotations

import io
import logging
import os
import stat
from typing import BinaryIO

log = logging.getLogger(__name__)

MEMORY_LIMIT_ENV = "HALLUVIEW_MEMORY_LIMIT"
#: Share of the available memory one read may use (the rest is left to the app, the model and the attack).
AVAILABLE_MEMORY_SHARE = 0.5
#: Used when the system does not say how much memory is available.
FALLBACK_LIMIT_BYTES = 8 * 1024**3
MEMINFO = "/proc/meminfo"
_SUFFIXES = {"": 1, "B": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def parse_byte_count(text: str) -> int:
    """``"512M"`` -> 536870912; plain integers are bytes.

    Raises
    ------
    ValueError
        If ``text`` is not a non-negative number with an optional K / M / G / T suffix.
    """
    cleaned = text.strip().upper().removesuffix("IB").removesuffix("B")
    suffix = cleaned[-1:] if cleaned[-1:] in _SUFFIXES else ""
    number = float(cleaned[: len(cleaned) - len(suffix)] if suffix else cleaned)
    if not 0 <= number < 2**62:
        raise ValueError(f"{text!r} is not a byte count")
    return int(number * _SUFFIXES[suffix])


def available_memory_bytes() -> int | None:
    """Memory the system can give without swapping: ``MemAvailable`` (Linux), else free pages; None if unknown."""
    try:
        with open(MEMINFO, "rb") as meminfo:
            for line in meminfo:
                if line.startswith(b"MemAvailable:"):
                    return int(line.split()[1]) * 1024  # the value is in kB
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, OSError, ValueError):
        return None


def memory_limit_bytes() -> int:
    """The most memory one read may allocate or inflate (see the module docstring), in bytes.

    A ``HALLUVIEW_MEMORY_LIMIT`` that is not a byte count is ignored with a logged warning (a typo in a setting must
    not make every file look damaged).
    """
    configured = os.environ.get(MEMORY_LIMIT_ENV, "").strip()
    if configured:
        try:
            return parse_byte_count(configured)
        except ValueError:
            log.warning("%s=%r is not a byte count such as 4G or 512M: ignored", MEMORY_LIMIT_ENV, configured)
    available = available_memory_bytes()
    return int(available * AVAILABLE_MEMORY_SHARE) if available else FALLBACK_LIMIT_BYTES


def limit_advice() -> str:
    """How a user raises the limit, for error messages."""
    return f"free memory, or set {MEMORY_LIMIT_ENV} (bytes, e.g. 16G) to raise the limit"


def file_kind(mode: int) -> str:
    """Plain name of a non-regular file type (``st_mode``)."""
    kinds = ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
             (stat.S_ISBLK, "a block device"), (stat.S_ISDIR, "a folder"))
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def non_regular_reason(path: str | os.PathLike) -> str | None:
    """Why ``path`` is not a regular file (following symbolic links), or None when it is one.

    Raises
    ------
    OSError
        If ``path`` cannot be examined (missing, permission denied).
    """
    mode = os.stat(path).st_mode
    if stat.S_ISREG(mode):
        return None
    return f"it is {file_kind(mode)}, not a regular file"


def open_regular_file(path: str | os.PathLike) -> BinaryIO:
    """Open ``path`` for binary reading without ever blocking; refuse FIFOs, sockets and devices.

    Returns
    -------
    BinaryIO
        A buffered binary file object (blocking mode restored), positioned at the start.

    Raises
    ------
    IsADirectoryError, OSError
        If it cannot be opened, or (an ``OSError`` whose ``strerror`` says so) is not a regular file.
    """
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFileError(path, f"it is {file_kind(mode)}, not a regular file")
        if hasattr(os, "set_blocking"):
            os.set_blocking(descriptor, True)
        raw = io.FileIO(descriptor, "rb", closefd=True)
        raw.name = os.fspath(path)  # libraries (pydicom's deferred reads) reopen the file by this name
        return io.BufferedReader(raw)
    except BaseException:
        os.close(descriptor)
        raise


class NotRegularFileError(OSError):
    """A path that names a FIFO, socket, device or folder where a regular file is needed."""

    def __init__(self, path: str | os.PathLike, reason: str) -> None:
        super().__init__(reason)
        self.path, self.reason = os.fspath(path), reason

    def __str__(self) -> str:
        return self.reason


class InflationLimitError(ValueError):
    """Compressed data that inflates beyond the number of bytes allowed for it (a decompression bomb)."""


class BoundedInflater:
    """Inflate a zlib / raw-deflate / gzip stream incrementally, never holding more output than asked for.

    Parameters
    ----------
    stream : BinaryIO
        Positioned at the start of the compressed data.
    wbits : int
        ``zlib`` window bits: ``-15`` raw deflate, ``15`` zlib, ``31`` gzip (one member).
    chunk_bytes : int
        Compressed bytes read at a time.
    keep : bool
        Keep the output in ``self.output``; False only counts it (``self.size``), to check a size in little memory.
    """

    def __init__(self, stream: BinaryIO, wbits: int, chunk_bytes: int = 1 << 16, keep: bool = True) -> None:
        import zlib

        self._stream, self._chunk_bytes, self._keep = stream, chunk_bytes, keep
        self._inflater = zlib.decompressobj(wbits)
        self._pending = b""
        self.output = bytearray()
        self.size = 0
        self.finished = False

    def inflate_to(self, max_output: int) -> bytearray:
        """Inflate until the stream ends or ``max_output`` bytes are out; the output so far (``self.output``).

        Raises
        ------
        EOFError
            If the file ends before the compressed stream does.
        zlib.error
            If the compressed data is corrupt (including a wrong gzip CRC or length).
        """
        while not self.finished and self.size < max_output:
            room = min(max_output - self.size, self._chunk_bytes * 64)
            if not self._pending:
                self._pending = self._stream.read(self._chunk_bytes)
            if not self._pending:  # the file has ended: only output held back by an earlier limit may remain
                piece = self._inflater.decompress(b"", room)
                if not piece and not self._inflater.eof:
                    raise EOFError("the compressed data ends early (the file looks truncated)")
            else:
                piece = self._inflater.decompress(self._pending, room)
                self._pending = self._inflater.unconsumed_tail
            self.size += len(piece)
            if self._keep:
                self.output += piece
            self.finished = self._inflater.eof
        return self.output

    def inflate_all(self, max_output: int, what: str) -> bytearray:
        """Inflate the whole stream; refuse (before going further) once more than ``max_output`` bytes come out.

        Raises
        ------
        InflationLimitError
            Naming ``what`` and the limit, when the stream inflates beyond ``max_output`` bytes.
        """
        self.inflate_to(max_output + 1)
        if self.size > max_output:
            raise InflationLimitError(f"{what} inflates to more than {max_output} bytes")
        return self.output

    @property
    def unused_data(self) -> bytes:
        """Compressed bytes read past the end of the stream (e.g. a gzip trailer's next member)."""
        return self._inflater.unused_data
