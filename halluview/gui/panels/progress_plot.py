"""The attack's progress against the step: the (region) SSIM on the left axis and the goal score (the objective
the attack maximises) on its own right axis, both at their true values; a transfer run's final response of the
attacked model is marked at the last step, so the plot and the table agree."""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QGraphicsItem

from ..theme import ACCENT

REDRAW_HZ = 4
OBJECTIVE_COLOUR = "#6fa8ff"
GOAL_TIP = ("Goal score: the objective J(δ) the attack maximises, at each step. Higher is closer to the goal. For "
            "insert / remove it is −‖f(y+δ) − target‖² inside the region minus w·‖change outside‖², so it is "
            "negative and rises towards 0; for region it is the change inside minus w × the change outside.")


class ProgressPlot(pg.PlotWidget):
    """Curves of one run, appended step by step and redrawn at most ``REDRAW_HZ`` times a second (re-ticking
    pyqtgraph's axes at every step would stall the main thread)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setMinimumHeight(110)
        self.setToolTip(GOAL_TIP)
        self._steps: list[int] = []
        self._objective: list[float] = []
        self._ssim: list[float] = []
        self._total = 0
        self._build()
        self._redraw = QTimer(self)
        self._redraw.setSingleShot(True)
        self._redraw.setInterval(int(1000 / REDRAW_HZ))
        self._redraw.timeout.connect(self.draw)

    def _build(self) -> None:
        item = self.getPlotItem()
        item.setMenuEnabled(False)
        item.showGrid(x=True, y=True, alpha=0.15)
        item.setLabel("bottom", "step")
        item.setLabel("left", "SSIM")
        item.getAxis("left").enableAutoSIPrefix(False)  # an SSIM axis in units of 0.001 would mislead
        item.getAxis("right").enableAutoSIPrefix(False)
        item.showAxis("right")
        item.setLabel("right", "goal score")
        for name in ("left", "right", "bottom"):  # repaint axes only when their ticks change
            item.getAxis(name).setCacheMode(QGraphicsItem.DeviceCoordinateCache)
        item.setYRange(0, 1.02, padding=0)
        item.enableAutoRange(y=False)
        self.objective_view = pg.ViewBox()
        item.scene().addItem(self.objective_view)
        item.getAxis("right").linkToView(self.objective_view)
        self.objective_view.setXLink(item)
        item.vb.sigResized.connect(self._sync_views)
        self.legend = item.addLegend(offset=(-10, 10), brush=(30, 30, 30, 200))
        self.ssim_curve = item.plot([], [], pen=pg.mkPen(ACCENT, width=2), name="SSIM")
        self.objective_curve = pg.PlotDataItem([], [], pen=pg.mkPen(OBJECTIVE_COLOUR, width=2))
        self.objective_view.addItem(self.objective_curve)
        self.legend.addItem(self.objective_curve, "goal score")
        self.final_marker = pg.ScatterPlotItem([], [], symbol="o", size=10, brush=pg.mkBrush(ACCENT),
                                               pen=pg.mkPen("w"))
        item.addItem(self.final_marker)

    def _sync_views(self) -> None:
        self.objective_view.setGeometry(self.getPlotItem().vb.sceneBoundingRect())

    def clear_curves(self, total: int = 0) -> None:
        self._redraw.stop()
        self._steps, self._objective, self._ssim, self._total = [], [], [], total
        self.getPlotItem().enableAutoRange(x=True)
        self.ssim_curve.setData([], [])
        self.objective_curve.setData([], [])
        self.final_marker.setData([], [])
        self.legend.removeItem(self.final_marker)

    def set_names(self, ssim_name: str, source: str = "") -> None:
        """Axis and legend names, e.g. "region SSIM" and " (surrogate dncnn)" while a transfer optimises."""
        self.getPlotItem().setLabel("left", ssim_name)
        self.legend.items[0][1].setText(ssim_name + source)
        self.legend.items[1][1].setText("goal score" + source)

    def append(self, step: int, objective: float, ssim: float, total: int) -> None:
        self._steps.append(step)
        self._objective.append(objective)
        self._ssim.append(ssim)
        if len(self._steps) == 1:  # fixed axes for the whole run: nothing jumps, nothing re-ticks per step
            item = self.getPlotItem()
            item.setXRange(0, max(total or step, 1), padding=0.02)
            item.enableAutoRange(x=False)
        if not self._redraw.isActive():
            self._redraw.start()

    def mark_final(self, step: int, ssim: float, name: str) -> None:
        """The attacked model's SSIM at the end of a transfer run (the table's number), as a point."""
        self.final_marker.setData([step], [ssim])
        self.legend.removeItem(self.final_marker)
        self.legend.addItem(self.final_marker, name)

    def draw(self) -> None:
        self._redraw.stop()
        lowest = min((v for v in self._ssim if v == v), default=0.0)
        if lowest < 0:  # SSIM can go below 0; the axis then widens once, instead of following every step
            self.getPlotItem().setYRange(min(-0.1, lowest), 1.02, padding=0)
        # In step order (restarts side by side arrive interleaved); SSIM only where it was measured (painted steps).
        points = sorted(zip(self._steps, self._objective, self._ssim))
        measured = [(step, ssim) for step, _, ssim in points if ssim == ssim]
        self.ssim_curve.setData([s for s, _ in measured], [v for _, v in measured])
        self.objective_curve.setData([s for s, _, _ in points], [v for _, v, _ in points])
