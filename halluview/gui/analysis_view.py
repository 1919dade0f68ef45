"""Paints an analysis's :class:`~halluview.core.analyses.view.AnalysisView`: its panels side by side (linked pan and
zoom, grey / diverging about 0 / heat map, as the main window paints them), its curves in one plot each, and its
findings in words. It computes nothing: every number and image comes from the core analysis."""
from __future__ import annotations

import gc
from contextlib import contextmanager

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSplitter, QVBoxLayout, QWidget

from ..core.analyses.view import AnalysisView
from ..core.display import grey_window, robust_limit
from .colormaps import BACKGROUND, TITLE_COLOUR, lookup_table
from .study_plot import PALETTE

_LUTS = {"grey": "grey", "signed": "diverging", "map": "inferno"}


@contextmanager
def _collected_after():
    """Rebuild with Python's garbage collector paused, then collect: the items a rebuild drops are destroyed
    here, not by a collection that happens to run inside a Qt signal disconnect (a PySide deadlock on the
    connection mutex, seen as a hung test)."""
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect()


def panel_levels(kind: str, image: np.ndarray, limits=None) -> tuple[float, float]:
    """The panel's own limits when it has them; else grey: the automatic window; signed: symmetric about 0
    (robust); map: 0 to its maximum."""
    if limits is not None:
        return float(limits[0]), float(limits[1])
    if kind == "signed":
        limit = robust_limit(image)
        return -limit, limit
    if kind == "map":
        high = float(np.nanmax(image)) if image.size else 1.0
        return 0.0, high if high > 0 else 1.0
    return grey_window(image)


class AnalysisPanels(pg.GraphicsLayoutWidget):
    """One image per panel of the view, in a row, pan and zoom linked; titles above, notes as tooltips."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setBackground(BACKGROUND)
        self.images: list[pg.ImageItem] = []
        self.titles: list[str] = []
        self._boxes: list[pg.ViewBox] = []

    def show_panels(self, panels) -> None:
        titles = [p.title for p in panels]
        rebuilt = titles != self.titles or len(self.images) != len(panels)
        if rebuilt:
            self._rebuild(panels)
        for item, panel in zip(self.images, panels):
            image = np.asarray(panel.image, dtype=np.float32)
            item.setImage(image.T, levels=panel_levels(panel.kind, image, panel.limits), autoLevels=False)
            item.setLookupTable(lookup_table(_LUTS[panel.kind]))
        if rebuilt:  # a new set of panels fits its images; later updates keep the user's pan and zoom
            for box in self._boxes:
                box.autoRange(padding=0.02)

    def _rebuild(self, panels) -> None:
        with _collected_after():
            self._lay_out(panels)

    def _lay_out(self, panels) -> None:
        self.clear()
        self.images, self._boxes, self.titles = [], [], [p.title for p in panels]
        for column, panel in enumerate(panels):
            self.addLabel(panel.title, row=0, col=column, color=TITLE_COLOUR)
            box = self.addViewBox(row=1, col=column, lockAspect=True, invertY=True, enableMenu=False)
            item = pg.ImageItem(axisOrder="col-major")
            item.setToolTip(panel.note or panel.title)
            box.addItem(item)
            if self._boxes and np.shape(panel.image) == np.shape(panels[0].image):  # same grid: linked
                box.setXLink(self._boxes[0])
                box.setYLink(self._boxes[0])
            self.images.append(item)
            self._boxes.append(box)


class AnalysisCurves(QWidget):
    """One plot per curve of the view; series in the study's palette, the marked x as a dashed line."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.layout_ = QHBoxLayout(self)
        self.layout_.setContentsMargins(0, 0, 0, 0)
        self.plots: list[pg.PlotWidget] = []
        self.lines: dict[tuple[int, str], pg.PlotDataItem] = {}

    def show_curves(self, curves) -> None:
        if len(self.plots) != len(curves) or any(p.property("title") != c.title for p, c in zip(self.plots, curves)):
            self._rebuild(curves)
        for index, (plot, curve) in enumerate(zip(self.plots, curves)):
            x = np.asarray(curve.x, dtype=float)
            for k, (name, values) in enumerate(curve.series.items()):
                line = self.lines.get((index, name))
                if line is None:
                    pen = pg.mkPen(PALETTE[k % len(PALETTE)], width=2)
                    line = self.lines[(index, name)] = plot.plot([], [], pen=pen, name=name)
                y = np.asarray([np.nan if v is None else v for v in values], dtype=float)
                line.setData(x[:len(y)], y, connect="finite")
            mark = plot.property("mark_line")
            mark.setVisible(curve.mark is not None)
            if curve.mark is not None:
                mark.setValue(curve.mark)

    def _rebuild(self, curves) -> None:
        with _collected_after():
            self._lay_out(curves)

    def _lay_out(self, curves) -> None:
        for plot in self.plots:
            self.layout_.removeWidget(plot)
            plot.deleteLater()
        self.plots, self.lines = [], {}
        for curve in curves:
            plot = pg.PlotWidget()
            plot.setProperty("title", curve.title)
            item = plot.getPlotItem()
            item.setMenuEnabled(False)
            item.setTitle(curve.title, color=TITLE_COLOUR, size="10pt")
            item.showGrid(x=True, y=True, alpha=0.15)
            item.setLabel("bottom", curve.x_label)
            item.setLabel("left", curve.y_label)
            for axis in ("left", "bottom"):
                item.getAxis(axis).enableAutoSIPrefix(False)
            item.addLegend(offset=(10, 10), brush=(30, 30, 30, 210), labelTextSize="9pt")
            mark = pg.InfiniteLine(angle=90, pen=pg.mkPen("#b4b4b4", style=Qt.DashLine))
            item.addItem(mark, ignoreBounds=True)
            plot.setProperty("mark_line", mark)
            self.layout_.addWidget(plot)
            self.plots.append(plot)


class AnalysisViewWidget(QSplitter):
    """Panels above, curves and findings below."""

    def __init__(self, parent=None):
        super().__init__(Qt.Vertical, parent)
        self.panels = AnalysisPanels()
        self.curves = AnalysisCurves()
        self.curves.setMinimumHeight(220)
        self.facts = QLabel("")
        self.facts.setWordWrap(True)
        self.facts.setTextInteractionFlags(Qt.TextSelectableByMouse)
        lower = QWidget()
        lower_layout = QVBoxLayout(lower)
        lower_layout.setContentsMargins(0, 0, 0, 0)
        lower_layout.addWidget(self.curves, 1)
        lower_layout.addWidget(self.facts)
        self.addWidget(self.panels)
        self.addWidget(lower)
        self.setChildrenCollapsible(False)
        self.setSizes([560, 340])

    def show_view(self, view: AnalysisView) -> None:
        if view.panels:
            self.panels.show_panels(view.panels)
        if view.curves:
            self.curves.show_curves(view.curves)
        if view.facts:
            self.facts.setText("\n".join(view.facts))

    def clear(self) -> None:
        self.panels.show_panels([])
        self.curves.show_curves([])
        self.facts.setText("")
