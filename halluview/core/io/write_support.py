"""Shared by the writers: atomic replacement, the never-write-to-an-input check, volume and geometry helpers."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..scan import Scan
from .errors import ScanWriteError

#: RAS+ directions of the (slice, row, column) axes in the SPL layout (used when a scan has no affine).
SPL_DIRECTIONS = np.array([[0.0, 0.0, 1.0], [0.0, -1.0, 0.0], [-1.0, 0.0, 0.0]])


def refuse_input(path: str | os.PathLike, like: Scan | None) -> Path:
    """The output path, after checking it is not the input ``like`` was read from (nor inside an input folder).

    Raises
    ------
    ScanWriteError
        If the output would be written onto, or into, the source.
    """
    target = Path(os.path.abspath(os.fspath(path)))
    source_text = like.source if like is not None else ""
    if not source_text or source_text.startswith("demo:"):
        return target
    source = Path(os.path.realpath(source_text))
    resolved = Path(os.path.realpath(target))
    if resolved == source or (source.is_dir() and source in resolved.parents):
        raise ScanWriteError(target, f"it is the input the scan was read from ({source}); inputs are never written to")
    return target


def as_volume(volume: np.ndarray) -> np.ndarray:
    values = np.asarray(volume, dtype=np.float32)
    if values.ndim == 2:
        values = values[np.newaxis]
    if values.ndim != 3 or min(values.shape) < 1:
        raise ValueError(f"expected a (slices, H, W) or (H, W) volume, got shape {values.shape}")
    return values


def display_affine(like: Scan | None) -> np.ndarray:
    """(slice, row, column) -> RAS mm affine of ``like``; from its spacing in SPL layout when it has none."""
    if like is not None and like.affine is not None:
        return np.asarray(like.affine, dtype=float)
    spacing = like.spacing_mm if like is not None else (1.0, 1.0, 1.0)
    affine = np.eye(4)
    affine[:3, :3] = SPL_DIRECTIONS.T * np.asarray(spacing, dtype=float)
    return affine
