"""One image panel's view box (mouse gestures routed to :class:`~halluview.gui.views.ImagePanels`) and the
region outline geometry the panels draw."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt


def mask_outline(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-edge segments around a boolean (H, W) mask, as x and y arrays of endpoint pairs (view coordinates)."""
    padded = np.pad(np.asarray(mask, bool), 1)
    rows, cols = np.nonzero(padded[1:, 1:-1] != padded[:-1, 1:-1])  # edge along y = row, x from col to col+1
    x_h = np.stack([cols, cols + 1], 1).ravel()
    y_h = np.repeat(rows, 2)
    rows, cols = np.nonzero(padded[1:-1, 1:] != padded[1:-1, :-1])  # edge along x = col, y from row to row+1
    x_v = np.repeat(cols, 2)
    y_v = np.stack([rows, rows + 1], 1).ravel()
    return np.concatenate([x_h, x_v]).astype(float), np.concatenate([y_h, y_v]).astype(float)


class PanelViewBox(pg.ViewBox):
    """One panel's view: right-drag windows, left-drag may draw, the wheel may step slices (see module doc)."""

    def __init__(self, name: str, panels):
        """``panels``: the :class:`~halluview.gui.views.ImagePanels` it routes gestures to."""
        super().__init__(lockAspect=True, invertY=True, enableMenu=False)
        self.name = name
        self._panels = panels

    def mouseDragEvent(self, ev, axis=None):
        if ev.button() == Qt.MouseButton.RightButton:
            ev.accept()
            self._panels._window_drag(self.name, ev)
        elif ev.button() == Qt.MouseButton.LeftButton and self._panels.draw_mode:
            ev.accept()
            self._panels._draw_drag(self.name, ev)
        else:
            super().mouseDragEvent(ev, axis)

    def mouseClickEvent(self, ev):
        if ev.double() and ev.button() == Qt.MouseButton.LeftButton and not self._panels.draw_mode:
            ev.accept()
            self._panels.reset_view()
        else:
            super().mouseClickEvent(ev)

    def wheelEvent(self, ev, axis=None):
        if self._panels._wheel(ev.delta(), ev.modifiers()):
            ev.accept()
        else:
            super().wheelEvent(ev, axis)
