"""The drawn regions with undo / redo: a small model the drawing tools edit and the attack reads."""
from __future__ import annotations

import copy

import numpy as np

from ..core.attacks.regions import region_mask, rle_encode


class RegionStack:
    """A list of region shapes (core region dicts) with an undo / redo history of whole states."""

    def __init__(self):
        self.shapes: list[dict] = []
        self._undo: list[list[dict]] = []
        self._redo: list[list[dict]] = []

    def _commit(self, shapes: list[dict]) -> None:
        self._undo.append(copy.deepcopy(self.shapes))
        self._redo.clear()
        self.shapes = shapes

    def add(self, shape: dict) -> None:
        self._commit(self.shapes + [copy.deepcopy(shape)])

    def replace(self, index: int, shape: dict) -> None:
        shapes = copy.deepcopy(self.shapes)
        shapes[index] = copy.deepcopy(shape)
        self._commit(shapes)

    def remove(self, index: int) -> None:
        self._commit([s for i, s in enumerate(self.shapes) if i != index])

    def clear(self) -> None:
        if self.shapes:
            self._commit([])

    def reset(self) -> None:
        """Forget shapes and history (a new scan)."""
        self.shapes, self._undo, self._redo = [], [], []

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
