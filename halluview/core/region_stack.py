"""The drawn regions with undo / redo: a small Qt-free model the drawing tools edit and the attack reads.

A shape is a core region config (:mod:`halluview.core.attacks.regions`): {"kind": "rect" | "ellipse", "xywh":
[x, y, w, h]}, {"kind": "polygon", "points": [[x, y], ...]}, {"kind": "rle", "shape": [H, W], "runs": [...]} or
{"kind": "file", "path": ...}; each is checked when it enters the stack.
"""
from __future__ import annotations

import copy
import math
import numbers

import numpy as np

from .attacks.regions import REGION_KINDS, region_mask, rle_encode
from .errors import ExperimentError

REQUIRED_KEYS = {"rect": ("xywh",), "ellipse": ("xywh",), "polygon": ("points",), "rle": ("shape", "runs"),
                 "file": ("path",)}


def _numbers(values, count: int | None = None) -> bool:
    values = list(values) if isinstance(values, (list, tuple)) else None
    return values is not None and (count is None or len(values) == count) and all(
        isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v) for v in values)


def check_region_shape(shape: dict) -> dict:
    """``shape`` if it is a region config the attack can read (a known kind with its keys, finite numbers), else
    an ExperimentError naming what is wrong. Returns a deep copy."""
    if not isinstance(shape, dict) or shape.get("kind") not in REGION_KINDS:
        kind = shape.get("kind") if isinstance(shape, dict) else shape
        raise ExperimentError(f"unknown region kind {kind!r}; choose one of {', '.join(sorted(REGION_KINDS))}")
    kind = shape["kind"]
    missing = [key for key in REQUIRED_KEYS[kind] if key not in shape]
    if missing:
        raise ExperimentError(f"a {kind} region needs {', '.join(missing)}")
    if kind in ("rect", "ellipse") and not _numbers(shape["xywh"], 4):
        raise ExperimentError(f"a {kind} region's xywh must be four numbers (pixels), not {shape['xywh']}")
    if kind == "polygon" and not (isinstance(shape["points"], (list, tuple)) and len(shape["points"]) >= 3
                                  and all(_numbers(p, 2) for p in shape["points"])):
        raise ExperimentError("a polygon region needs at least three points of two numbers (x, y in pixels)")
    return copy.deepcopy(shape)


class RegionStack:
    """A list of region shapes with an undo / redo history of whole states."""

    def __init__(self, shapes: list[dict] | None = None):
        self.shapes: list[dict] = [check_region_shape(s) for s in shapes or []]
        self._undo: list[list[dict]] = []
        self._redo: list[list[dict]] = []

    def _commit(self, shapes: list[dict]) -> None:
        self._undo.append(copy.deepcopy(self.shapes))
        self._redo.clear()
        self.shapes = shapes

    def add(self, shape: dict) -> None:
        self._commit(self.shapes + [check_region_shape(shape)])

    def replace(self, index: int, shape: dict) -> None:
        shapes = copy.deepcopy(self.shapes)
        shapes[index] = check_region_shape(shape)
        self._commit(shapes)

    def remove(self, index: int) -> None:
        self._commit([s for i, s in enumerate(self.shapes) if i != index])

    def clear(self) -> None:
        if self.shapes:
            self._commit([])

    def reset(self, shapes: list[dict] | None = None) -> None:
        """Forget the history and start from ``shapes`` (default: none), e.g. for a new scan."""
        self.shapes = [check_region_shape(s) for s in shapes or []]
        self._undo, self._redo = [], []

    def copy(self) -> RegionStack:
        """An independent copy, history included (a snapshot of the session)."""
        return copy.deepcopy(self)

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    def undo(self) -> None:
        if self._undo:
            self._redo.append(self.shapes)
            self.shapes = self._undo.pop()

    def redo(self) -> None:
        if self._redo:
            self._undo.append(self.shapes)
            self.shapes = self._redo.pop()

    def mask(self, shape: tuple[int, int]) -> np.ndarray | None:
        """Union of all shapes as a boolean (H, W) mask; None when nothing is drawn."""
        masks = [region_mask(s, shape) for s in self.shapes]
        return np.logical_or.reduce(masks) if masks else None

    def combined(self, shape: tuple[int, int]) -> dict | None:
        """One core region config for the attack: the shape itself, or the union as run lengths."""
        if not self.shapes:
            return None
        if len(self.shapes) == 1:
            return copy.deepcopy(self.shapes[0])
        return {"kind": "rle", "shape": list(shape), "runs": rle_encode(self.mask(shape))}
