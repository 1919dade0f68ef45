"""The study's plot: ΔSSIM against ε per reconstruction, the attack solid and noise of the same size dashed, the
spread over slices and seeds as a faint band; every number from :func:`halluview.core.study.summary.delta_curves`.

Curves are updated in place as cells finish (no redraw from scratch: nothing jumps); ε on a log axis in % of ‖y‖.
"""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QGraphicsItem

from ..core.study import summary
from ..core.study.figures import BASIS_WORDS

PALETTE = ("#56b4e9", "#e69f00", "#2fbf8f", "#cc79a7", "#f0e442", "#ff6f4f", "#8fa8ff", "#b0b0b0")
"""One colour per reconstruction: Okabe and Ito's colour-blind-safe set, lightened for a dark background."""
NOISE_COLOUR = "#9a9a9a"
Y_LABELS = {summary.REFERENCE: "ΔSSIM = SSIM(f(y), x) − SSIM(f(y+δ), x)",
            summary.CLEAN: "ΔSSIM = 1 − SSIM(f(y+δ), f(y))",
            summary.MIXED: "ΔSSIM (vs reference where the scan has one, else vs clean)", "": "ΔSSIM"}
TIP = ("How much each reconstruction changed under attack (solid) and under random noise of the same size (dashed), "
       "against how much the measurement was altered, as a percentage of its size. Higher is a larger change; "
       "the band spans the slices and seeds. A reconstruction whose solid line rises far above its dashed line "
       "is much more sensitive to a worst-case change than to noise.")


def colour_of(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


class StudyPlot(pg.PlotWidget):
    """ΔSSIM against ε. ``curves`` {(recon, kind): PlotDataItem} and ``bands`` {(recon, kind): FillBetweenItem}
    are there for tests and exports; :meth:`set_recons` fixes the colours, :meth:`show_rows` draws a table."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setMinimumHeight(240)
        self.setToolTip(TIP)
        self.curves: dict[tuple[str, str], pg.PlotDataItem] = {}
        self.bands: dict[tuple[str, str], tuple[pg.FillBetweenItem, pg.PlotDataItem, pg.PlotDataItem]] = {}
        self._order: list[str] = []
        item = self.getPlotItem()
        item.setMenuEnabled(False)
        item.showGrid(x=True, y=True, alpha=0.15)
        item.setLogMode(x=True, y=False)
        item.setLabel("bottom", "ε (% of ‖y‖)")
        item.setLabel("left", Y_LABELS[""])
        item.getAxis("left").enableAutoSIPrefix(False)
        for name in ("left", "bottom"):
            item.getAxis(name).setCacheMode(QGraphicsItem.DeviceCoordinateCache)
        self.legend = item.addLegend(offset=(10, 10), brush=(30, 30, 30, 210), labelTextSize="9pt")
        self._noise_key = pg.PlotDataItem([], [], pen=pg.mkPen(NOISE_COLOUR, width=2, style=Qt.DashLine))
        self.empty_text = pg.TextItem("Curves appear here as cells finish", color="#8a8a8a", anchor=(0.5, 0.5))
        item.addItem(self.empty_text, ignoreBounds=True)
        self.empty_text.setPos(0.5, 0.5)  # the empty view spans 0..1 on both axes (log x included)

    def set_recons(self, recons: list[str]) -> None:
        """The study's reconstructions in the order they are listed: their colours, fixed for the whole run."""
        self._order = list(dict.fromkeys([*recons, *self._order]))

    def colour(self, recon: str) -> str:
        if recon not in self._order:
            self._order.append(recon)
        return colour_of(self._order.index(recon))

    def clear_curves(self) -> None:
        item = self.getPlotItem()
        for curve in self.curves.values():
            item.removeItem(curve)
        for band, low, high in self.bands.values():
            for part in (band, low, high):
                item.removeItem(part)
        self.curves.clear()
        self.bands.clear()
        self.legend.clear()
        self.empty_text.setVisible(True)

    def show_rows(self, rows: list[dict], metric: str = "ssim") -> None:
        """Draw the finished rows' curves (:func:`summary.delta_curves`), updating the ones already shown."""
        curves = summary.delta_curves(rows, metric)
        basis = summary.delta_basis(rows, metric)
        label = (Y_LABELS.get(basis, Y_LABELS[""]) if metric == "ssim"
                 else BASIS_WORDS.get((metric, basis), "ΔPSNR (dB)"))
        self.getPlotItem().setLabel("left", label)
        for (recon, kind) in sorted(curves, key=lambda k: (self._rank(k[0]), k[1])):
            data = curves[(recon, kind)]
            x = [100 * e for e in data["eps"]]
            if (recon, kind) not in self.curves:
                self._add(recon, kind)
            self.curves[(recon, kind)].setData(x, data["mean"])
            _, low, high = self.bands[(recon, kind)]
            low.setData(x, data["low"])
            high.setData(x, data["high"])
        self.empty_text.setVisible(not self.curves)

    def _rank(self, recon: str) -> int:
        self.colour(recon)
        return self._order.index(recon)

    def _add(self, recon: str, kind: str) -> None:
        item = self.getPlotItem()
        colour = QColor(self.colour(recon))
        attack = kind == "attack"
        pen = pg.mkPen(colour, width=2.2 if attack else 1.6, style=Qt.SolidLine if attack else Qt.DashLine)
        symbol = {"symbol": "o", "symbolSize": 7, "symbolBrush": colour, "symbolPen": None} if attack else {}
        curve = pg.PlotDataItem([], [], pen=pen, **symbol)
        edge = QColor(colour)
        edge.setAlpha(70)
        low, high = (pg.PlotDataItem([], [], pen=pg.mkPen(edge, width=0.8)) for _ in range(2))
        fill = QColor(colour)
        fill.setAlpha(45 if attack else 25)
        band = pg.FillBetweenItem(low, high, brush=fill)
        for part in (low, high, band):
            item.addItem(part)
        item.addItem(curve)
        self.curves[(recon, kind)] = curve
        self.bands[(recon, kind)] = (band, low, high)
        self._relegend()

    def _relegend(self) -> None:
        """The legend: one entry per reconstruction (its attack, solid) in the study's order, then the noise key."""
        self.legend.clear()
        attacks = [key for key in self.curves if key[1] == "attack"]
        for recon, kind in sorted(attacks, key=lambda k: self._rank(k[0])):
            self.legend.addItem(self.curves[(recon, kind)], recon)
        if any(kind == "noise" for _, kind in self.curves):
            self.legend.addItem(self._noise_key, "noise of the same size (dashed)")
