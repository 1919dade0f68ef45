"""Drawing the attack's region and lesion on the image panels; the ROIs always mirror ``session.regions``.

Coordinates. The panels' view coordinates put pixel (r, c) on the square [c, c+1) × [r, r+1). Rectangles and
ellipses are stored as those edges (``xywh``, as the core reads them); polygon vertices and lesion centres are
stored as pixel indices, the core's convention there (the centre of pixel c is c): view coordinates − 0.5.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut

from ..core.attacks.regions import region_mask, rle_encode
from .colormaps import ACCENT
from .session import Session
from .views import ImagePanels

TOOLS = ("none", "rect", "ellipse", "polygon", "brush", "lesion-disc", "lesion-line", "remove-lesion")
_ROI_PEN = pg.mkPen(255, 176, 0, 110, width=1)
_ROI_SELECTED_PEN = pg.mkPen(ACCENT, width=2)
_ROI_STYLE = dict(pen=_ROI_PEN, hoverPen=pg.mkPen(ACCENT, width=2), handlePen=pg.mkPen(ACCENT),
                  handleHoverPen=pg.mkPen("w"), removable=True)


class _EllipseROI(pg.EllipseROI):
    """An axis-aligned ellipse (the core's ellipse has no angle): scale handles, no rotate handle."""

    def _addHandles(self):
        self.addScaleHandle([1, 1], [0, 0])
        self.addScaleHandle([0, 0], [1, 1])


def _capsule(shape: tuple[int, int], a_xy, b_xy, radius_px: float) -> np.ndarray:
    """Pixels whose centres lie within ``radius_px`` of the segment a–b (view coordinates)."""
    (ax, ay), (bx, by) = a_xy, b_xy
    rows = np.arange(max(int(min(ay, by) - radius_px) - 1, 0), min(int(max(ay, by) + radius_px) + 2, shape[0]))
    cols = np.arange(max(int(min(ax, bx) - radius_px) - 1, 0), min(int(max(ax, bx) + radius_px) + 2, shape[1]))
    mask = np.zeros(shape, bool)
    if rows.size == 0 or cols.size == 0:
        return mask
    py, px = np.meshgrid(rows + 0.5, cols + 0.5, indexing="ij")
    dx, dy = bx - ax, by - ay
    t = np.clip(((px - ax) * dx + (py - ay) * dy) / max(dx * dx + dy * dy, 1e-12), 0, 1)
    mask[np.ix_(rows, cols)] = np.hypot(px - ax - t * dx, py - ay - t * dy) <= radius_px
    return mask


def _band(a_xy, b_xy, half_width: float) -> list[tuple[float, float]]:
    """The corners of the rectangle around the segment a–b reaching ``half_width`` beyond it on every side (its
    ends included); [] for a segment of no length."""
    (ax, ay), (bx, by) = a_xy, b_xy
    length = float(np.hypot(bx - ax, by - ay))
    if length == 0:
        return []
    ux, uy = (bx - ax) / length * half_width, (by - ay) / length * half_width  # along the segment
    nx, ny = -uy, ux  # across it
    return [(ax - ux + nx, ay - uy + ny), (bx + ux + nx, by + uy + ny), (bx + ux - nx, by + uy - ny),
            (ax - ux - nx, ay - uy - ny)]


class DrawingController(QObject):
    """The drawing tools on an :class:`ImagePanels`, editing ``session.regions`` (and the lesion objective).

    Tools: "none" (navigate), "rect", "ellipse", "polygon" (lasso), "brush" (target region); "lesion-disc"
    (drag from the centre outwards) and "lesion-line" (drag along it: a segment ``lesion_width_px`` wide) insert a
    lesion, whose region is the lesion and a margin of its surroundings; "remove-lesion" paints the region whose
    content should disappear. Drawn shapes become editable ROIs on the clean panel; brush strokes show as the region
    outline only. Delete / Backspace removes the selected ROI, as does its context menu. A new lesion keeps the
    intensity the objective has (none: the core's bright default).

    Signals
    -------
    toolChanged(str)
    """

    toolChanged = Signal(str)

    def __init__(self, panels: ImagePanels, session: Session, parent: QObject | None = None):
        super().__init__(parent)
        self.panels, self.session = panels, session
        self.tool = "none"
        self.brush_radius_px = 3.0
        self.lesion_width_px = 1.5
        self._stroke: list[tuple[float, float]] = []
        self._paint: np.ndarray | None = None
        self._entries: list[tuple[dict, pg.ROI | None]] = []  # mirrors session.regions.shapes
        self._selected: pg.ROI | None = None
        self._lesion_region: dict | None = None
        panels.imageDragged.connect(self._on_drag)
        session.regionsChanged.connect(self.sync_from_model)
        for key in (QKeySequence.StandardKey.Delete, QKeySequence(Qt.Key.Key_Backspace)):
            shortcut = QShortcut(key, panels)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(self.delete_selected)
        self.sync_from_model()

    # --- tools -------------------------------------------------------------------------------------------
    def set_tool(self, name: str) -> None:
        if name not in TOOLS:
            raise ValueError(f"unknown drawing tool {name!r}; choose one of {TOOLS}")
        self.panels.set_draw_mode(name != "none")
        if name != self.tool:
            self.tool = name
            self.toolChanged.emit(name)

    def _shape(self) -> tuple[int, int] | None:
        return self.panels.image_shape() or self.session.image_shape()

    def drag(self, tool: str, start_xy, end_xy, via=()) -> None:
        """Draw with ``tool`` from ``start_xy`` through ``via`` to ``end_xy`` (view coordinates), as the mouse does."""
        self.set_tool(tool)
        self._on_drag("start", *start_xy)
        for x, y in [*via, end_xy]:
            self._on_drag("move", x, y)
        self._on_drag("finish", *end_xy)

    def _on_drag(self, phase: str, x: float, y: float) -> None:
        shape = self._shape()
        if self.tool == "none" or shape is None or (phase != "start" and not self._stroke):
            return
        if phase == "start":
            self._stroke = [(x, y)]
            self._paint = np.zeros(shape, bool) if self.tool in ("brush", "remove-lesion") else None
        elif (x, y) != self._stroke[-1]:
            self._stroke.append((x, y))
        if self._paint is not None:
            self._paint |= _capsule(shape, self._stroke[-2] if len(self._stroke) > 1 else (x, y), (x, y),
                                    self.brush_radius_px)
            current = self.session.regions.mask(shape) if self.session.regions.shapes else None
            self.panels.set_region_mask(self._paint if current is None else current | self._paint)
        else:
            self.panels.set_sketch(self._sketch())
        if phase == "finish":
            self.panels.set_sketch(None)
            self._finish_stroke(shape)

    def _sketch(self) -> np.ndarray:
        (x0, y0), (x1, y1) = self._stroke[0], self._stroke[-1]
        if self.tool == "rect":
            return np.array([(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)])
        if self.tool in ("ellipse", "lesion-disc"):
            t = np.linspace(0, 2 * np.pi, 65)
            if self.tool == "lesion-disc":
                r = np.hypot(x1 - x0, y1 - y0)
                return np.stack([x0 + r * np.cos(t), y0 + r * np.sin(t)], 1)
            cx, cy, rx, ry = (x0 + x1) / 2, (y0 + y1) / 2, abs(x1 - x0) / 2, abs(y1 - y0) / 2
            return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], 1)
        if self.tool == "polygon":
            return np.array(self._stroke + self._stroke[:1])
        band = _band((x0, y0), (x1, y1), self.lesion_width_px / 2)  # lesion-line: the segment with its width
        return np.array(band + band[:1]) if band else np.array([(x0, y0), (x1, y1)])

    def _finish_stroke(self, shape: tuple[int, int]) -> None:
        stroke, paint = self._stroke, self._paint
        self._stroke, self._paint = [], None
        if self.tool in ("lesion-disc", "lesion-line"):
            self._insert_lesion(stroke, shape)
            return
        if paint is not None:
            region = {"kind": "rle", "shape": list(shape), "runs": rle_encode(paint)} if paint.any() else None
        else:
            region = self._region_from_stroke(stroke, shape)
        if region is None:
            self.sync_from_model()  # restore the outline the brush preview replaced
            return
        if self.tool == "remove-lesion":
            self.session.update(objective={"kind": "remove", "lesion": {}})
        elif self.session.experiment.objective.kind == "untargeted":
            self.session.update(objective={"kind": "region"})  # a drawn target region means a region attack
        self.add_shape(region)

    def _region_from_stroke(self, stroke: list, shape: tuple[int, int]) -> dict | None:
        height, width = shape
        if self.tool in ("rect", "ellipse"):
            (x0, y0), (x1, y1) = stroke[0], stroke[-1]
            clip = self.tool == "rect"  # an ellipse keeps the drawn shape; the core clips its mask
            left, right = (int(np.clip(round(v), 0, width) if clip else round(v)) for v in sorted((x0, x1)))
            top, bottom = (int(np.clip(round(v), 0, height) if clip else round(v)) for v in sorted((y0, y1)))
            region = {"kind": self.tool, "xywh": [left, top, right - left, bottom - top]}
        else:
            points = [stroke[0]]
            for point in stroke[1:]:  # drop mouse jitter: vertices at least a pixel apart
                if np.hypot(point[0] - points[-1][0], point[1] - points[-1][1]) >= 1.0:
                    points.append(point)
            if len(points) < 3:
                return None
            region = {"kind": "polygon", "points": [[round(x - 0.5, 2), round(y - 0.5, 2)] for x, y in points]}
        try:
            region_mask(region, shape)
        except ValueError:  # a click, or a shape covering no pixel
            return None
        return region

    def _insert_lesion(self, stroke: list, shape: tuple[int, int]) -> None:
        (x0, y0), (x1, y1) = stroke[0], stroke[-1]
        length = float(np.hypot(x1 - x0, y1 - y0))
        if self.tool == "lesion-disc":
            radius = round(max(1.5, length), 2)
            lesion = {"shape": "disc", "center_xy": [round(x0 - 0.5, 2), round(y0 - 0.5, 2)], "radius_px": radius}
            reach = radius + max(2.0, 0.5 * radius)  # the region: the disc and a margin of its surroundings
            left, top = int(np.floor(x0 - reach)), int(np.floor(y0 - reach))
            region = {"kind": "ellipse", "xywh": [left, top, int(np.ceil(x0 + reach)) - left,
                                                  int(np.ceil(y0 + reach)) - top]}
        else:
            if length < 1.0:
                return
            lesion = {"shape": "line", "start_xy": [round(x0 - 0.5, 2), round(y0 - 0.5, 2)],
                      "end_xy": [round(x1 - 0.5, 2), round(y1 - 0.5, 2)], "width_px": self.lesion_width_px}
            band = _band((x0, y0), (x1, y1), self.lesion_width_px / 2 + 2.0)  # the line and a 2-pixel margin
            region = {"kind": "polygon", "points": [[round(x - 0.5, 2), round(y - 0.5, 2)] for x, y in band]}
        intensity = self.session.experiment.objective.lesion.get("intensity")
        if intensity is not None:
            lesion["intensity"] = intensity
        try:
            region_mask(region, shape)  # the core clips it to the image; it must keep a pixel
        except ValueError:
            return
        self.session.update(objective={"kind": "insert", "lesion": lesion})
        shapes = self.session.regions.shapes
        if self._lesion_region in shapes:  # a new lesion replaces the previous one's region
            self.session.regions.replace(shapes.index(self._lesion_region), region)
            self.session.regions_edited()
        else:
            self.add_shape(region)
        self._lesion_region = region

    # --- the model ---------------------------------------------------------------------------------------
    def add_shape(self, shape: dict) -> None:
        """Add a region (a core region dict), as drawing it does."""
        self.session.regions.add(shape)
        self.session.regions_edited()

    def delete(self, index: int) -> None:
        self.session.regions.remove(index)
        self.session.regions_edited()

    def delete_selected(self) -> None:
        indices = [i for i, (_, roi) in enumerate(self._entries) if roi is not None and roi is self._selected]
        if indices:
            self.delete(indices[0])

    def undo(self) -> None:
        self.session.regions.undo()
        self.session.regions_edited()

    def redo(self) -> None:
        self.session.regions.redo()
        self.session.regions_edited()

    @property
    def rois(self) -> list[pg.ROI | None]:
        """One entry per region: its ROI on the clean panel (None for brush strokes)."""
        return [roi for _, roi in self._entries]

    def sync_from_model(self) -> None:
        """Make the ROIs and the region outline mirror ``session.regions`` (after any edit, undo or redo)."""
        shapes = self.session.regions.shapes
        view = self.panels.views["clean"]
        entries = []
        for i, shape in enumerate(shapes):
            if i < len(self._entries) and self._entries[i][0] == shape:
                entries.append(self._entries[i])
                continue
            if i < len(self._entries):
                self._drop(self._entries[i][1])
            roi = self._make_roi(shape)
            if roi is not None:
                view.addItem(roi)
            entries.append((dict(shape), roi))
        for _, roi in self._entries[len(shapes):]:
            self._drop(roi)
        self._entries = entries
        shape = self._shape()
        try:
            mask = self.session.regions.mask(shape) if shape else None
        except ValueError:  # a brush region of another image size
            mask = None
        self.panels.set_region_mask(mask)

    def _drop(self, roi: pg.ROI | None) -> None:
        if roi is not None:
            if roi is self._selected:
                self._selected = None
            self.panels.views["clean"].removeItem(roi)

    def _make_roi(self, shape: dict) -> pg.ROI | None:
        kind = shape["kind"]
        if kind in ("rect", "ellipse"):
            x, y, w, h = shape["xywh"]
            cls = pg.RectROI if kind == "rect" else _EllipseROI
            roi = cls([x, y], [w, h], snapSize=1, translateSnap=True, scaleSnap=True, **_ROI_STYLE)
        elif kind == "polygon":
            roi = pg.PolyLineROI([[px + 0.5, py + 0.5] for px, py in shape["points"]], closed=True, **_ROI_STYLE)
        else:
            return None
        roi.setZValue(20)
        roi.setAcceptedMouseButtons(Qt.MouseButton.LeftButton)
        roi.sigClicked.connect(lambda r, _ev: self._select(r))
        roi.sigRegionChangeStarted.connect(self._select)
        roi.sigRegionChangeFinished.connect(self._roi_edited)
        roi.sigRemoveRequested.connect(self._roi_remove_requested)
        return roi

    def _select(self, roi: pg.ROI) -> None:
        if self._selected is not None and self._selected is not roi:
            self._selected.setPen(_ROI_PEN)
        self._selected = roi
        roi.setPen(_ROI_SELECTED_PEN)

    def _index(self, roi: pg.ROI) -> int | None:
        return next((i for i, (_, r) in enumerate(self._entries) if r is roi), None)

    def _roi_remove_requested(self, roi: pg.ROI) -> None:
        index = self._index(roi)
        if index is not None:
            self.delete(index)

    def _roi_edited(self, roi: pg.ROI) -> None:
        index = self._index(roi)
        if index is None:
            return
        old = self._entries[index][0]
        if old["kind"] == "polygon":
            points = [roi.mapToParent(pos) for _, pos in roi.getLocalHandlePositions()]
            new = {"kind": "polygon", "points": [[round(p.x() - 0.5, 2), round(p.y() - 0.5, 2)] for p in points]}
        else:
            pos, size = roi.pos(), roi.size()
            new = {"kind": old["kind"], "xywh": [int(round(pos.x())), int(round(pos.y())),
                                                 max(int(round(size.x())), 1), max(int(round(size.y())), 1)]}
            roi.blockSignals(True)  # show the snapped, stored geometry
            roi.setPos(new["xywh"][:2], update=False)
            roi.setSize(new["xywh"][2:])
            roi.blockSignals(False)
        if new == old:
            return
        self._entries[index] = (new, roi)  # the ROI already shows it: sync keeps it
        self.session.regions.replace(index, new)
        self.session.regions_edited()

    def patch_area_px(self, spacing_mm: tuple[float, float] | None = None) -> tuple[int, float | None]:
        """Area of the union of the regions: (pixels, mm²); mm² from ``spacing_mm`` (row, col) or the scan's
        pixel spacing, None when neither is known."""
        shape = self._shape()
        mask = self.session.regions.mask(shape) if shape and self.session.regions.shapes else None
        n_pixels = int(mask.sum()) if mask is not None else 0
        if spacing_mm is None and self.session.scan is not None:
            spacing_mm = tuple(self.session.scan.spacing_mm[1:])
        area_mm2 = None if spacing_mm is None else n_pixels * float(spacing_mm[0]) * float(spacing_mm[1])
        return n_pixels, area_mm2
