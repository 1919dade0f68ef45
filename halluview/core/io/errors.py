"""Errors raised by the scan readers and writers, and the description of one selectable content of a file."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any


class PathError(Exception):
    """An error about one file or folder: ``str()`` is "Cannot <verb> <path>: <reason>"; it pickles cleanly.

    Parameters
    ----------
    path : str or os.PathLike
        The file or folder concerned.
    reason : str
        What is wrong, in plain words, without the path.
    """

    verb = "use"

    def __init__(self, path: str | os.PathLike, reason: str) -> None:
        self.path = os.fspath(path)
        self.reason = reason
        super().__init__(self.path, reason)

    def __str__(self) -> str:
        return f"Cannot {self.verb} {self.path!s}: {self.reason}"

    def __reduce__(self) -> tuple[type, tuple[str, str]]:
        return (type(self), (self.path, self.reason))


class ScanReadError(PathError):
    """A file or folder could not be read as a scan.

    ``str()`` names the file and says what is wrong in plain words (and what to install when a decoder is missing).
    """

    verb = "read"


class ScanWriteError(PathError):
    """A scan could not be written (the output would overwrite an input, the folder is not empty, ...)."""

    verb = "write"


@dataclass(frozen=True)
class ContentChoice:
    """One scan a file or folder holds, among several (a DICOM series, a 4-D volume, an HDF5 dataset).

    Attributes
    ----------
    kind : str
        Name of the ``read_scan`` keyword that selects it: ``"series"``, ``"volume"`` or ``"dataset"``.
    key : str or int
        The value to pass for that keyword.
    label : str
        Human-readable description for a chooser ("CT series 'Thorax' — 120 images 512×512").
    shape : tuple of int
        Shape of the volume it loads as, slices first.
    """

    kind: str
    key: Any
    label: str
    shape: tuple[int, ...] = ()

    def as_kwargs(self) -> dict[str, Any]:
        """The keyword arguments that make ``read_scan`` load this content.

        Returns
        -------
        dict
            ``{kind: key}``, e.g. ``{"series": "1.2.3"}``.
        """
        return {self.kind: self.key}
