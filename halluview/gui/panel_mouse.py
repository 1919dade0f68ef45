"""The image panels' mouse and what is drawn over them: drawing drags and the shape being drawn, the region outline,
the wheel stepping slices, the crosshair shared by every panel and the pixel values under it.

A mixin of :class:`~halluview.gui.views.ImagePanels`: it uses the panels' ``views``, ``images``, ``_shape``,
``_crosshairs``, ``_outlines`` and ``_sketches``, and emits their ``imageDragged``, ``wheelSlice`` and ``cursorMoved``
signals.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QObject, QPointF, Qt

from .panel_viewbox import mask_outline

TITLES = {"clean": "Clean reconstruction", "perturbed": "Perturbed reconstruction",
          "difference": "Difference (perturbed − clean)"}
EXTRA_TITLES = {"perturbation": "Perturbation (image domain)", "reference": "Reference"}
PANELS = ("clean", "perturbed", "difference", "extra")


class PanelMouse:
    """Mouse gestures of the linked panels (see :mod:`halluview.gui.views` for the gestures in words)."""

    def set_draw_mode(self, enabled: bool) -> None:
        """Left-drag draws (emits ``imageDragged``) instead of panning."""
        self.draw_mode = bool(enabled)
        cursor = Qt.CursorShape.CrossCursor if enabled else Qt.CursorShape.ArrowCursor
        for vb in self.views.values():
            vb.setCursor(cursor)

    def _draw_drag(self, name: str, ev) -> None:
        phase = "start" if ev.isStart() else "finish" if ev.isFinish() else "move"
        scene_pos = ev.buttonDownScenePos() if ev.isStart() else ev.scenePos()
        pos = self.views[name].mapSceneToView(scene_pos)  # the scan's pixels, also at a working size
        self.imageDragged.emit(phase, pos.x(), pos.y())

    def set_wheel_changes_slice(self, enabled: bool) -> None:
        """Plain wheel → ``wheelSlice`` (volumes); Ctrl + wheel always zooms."""
        self.wheel_changes_slice = bool(enabled)

    def _wheel(self, delta: int, modifiers) -> bool:
        """True when the wheel stepped slices (the view must not zoom)."""
        if not self.wheel_changes_slice or modifiers & Qt.KeyboardModifier.ControlModifier:
            return False
        self._wheel_rest += delta
        steps = int(self._wheel_rest / 120)  # one notch = 120; touchpads send smaller deltas
        self._wheel_rest -= steps * 120
        if steps:
            self.wheelSlice.emit(steps)
        return True

    def _mouse_moved(self, vb, scene_pos: QPointF) -> None:
        shape = self.image_shape()
        if not vb.sceneBoundingRect().contains(scene_pos) or shape is None:
            return
        pos = vb.mapSceneToView(scene_pos)
        row, col = int(np.floor(pos.y())), int(np.floor(pos.x()))
        if 0 <= row < shape[0] and 0 <= col < shape[1]:
            self.set_cursor(row, col)
        else:
            self._show_crosshair(False)

    def set_cursor(self, row: int, col: int) -> None:
        """Put the crosshair on pixel (row, col) in every panel and announce it."""
        for vertical, horizontal in self._crosshairs.values():
            vertical.setValue(col + 0.5)
            horizontal.setValue(row + 0.5)
        self._show_crosshair(True)
        if self._cursor != (row, col):
            self._cursor = (row, col)
            self.cursorMoved.emit(row, col)

    def _show_crosshair(self, visible: bool) -> None:
        for lines in self._crosshairs.values():
            for line in lines:
                line.setVisible(visible)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Leave:
            self._show_crosshair(False)
        return super().eventFilter(watched, event)

    # --- readouts ---------------------------------------------------------------------------------------
    def _image_index(self, row: int, col: int, shape: tuple[int, int]) -> tuple[int, int]:
        """The pixel of an image of ``shape`` under the panels' coordinate (row, col)."""
        if self._frame is None or tuple(shape) == self._frame:
            return row, col
        return int(row * shape[0] / self._frame[0]), int(col * shape[1] / self._frame[1])

    def values_at(self, row: int, col: int) -> dict[str, float]:
        """Panel title → pixel value at (row, col) in the scan's units (see ``set_units``), for the panels showing
        an image; differences and the perturbation are signed changes (no offset)."""
        values = {}
        for name in PANELS:
            data = self._data[name]
            if data is None:
                continue
            r, c = self._image_index(row, col, data.shape)
            if 0 <= r < data.shape[0] and 0 <= c < data.shape[1]:
                title = TITLES.get(name) or EXTRA_TITLES.get(self._extra_kind, "extra")
                value = float(data[r, c])
                values[title] = float(self._units.to_scan(value) if self._grey(name)
                                      else self._units.difference_to_scan(value))
        return values

    # --- overlays ----------------------------------------------------------------------------------------
    def set_region_mask(self, mask: np.ndarray | None) -> None:
        """Outline the boolean (H, W) region in the accent colour on every panel; None removes it."""
        x, y = mask_outline(mask) if mask is not None and np.any(mask) else (np.zeros(0), np.zeros(0))
        for outline in self._outlines.values():
            outline.setData(x, y)
            outline.setVisible(x.size > 0)

    def set_sketch(self, points_xy: np.ndarray | None) -> None:
        """A dashed accent polyline (N, 2) of (x, y) view coordinates on every panel: the shape being drawn."""
        for sketch in self._sketches.values():
            if points_xy is None or len(points_xy) < 2:
                sketch.hide()
            else:
                points = np.asarray(points_xy, float)
                sketch.setData(points[:, 0], points[:, 1])
                sketch.show()
