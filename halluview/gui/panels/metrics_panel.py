"""The live metrics: a table (SSIM, PSNR, MSE, NMSE vs clean / reference / in and outside the region / noise of
the same size) updated in place, and a plot of the objective and the SSIM against the step.

Every number shown is read from an :class:`AttackStep` or :class:`AttackResult` (computed by ``core.metrics``);
nothing is recomputed here.
"""
from __future__ import annotations

import html
import math

import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGraphicsItem,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...core.attacks.run import AttackResult, AttackStep
from ..session import RunRecord, Session
from ..theme import ACCENT

ROWS = (("ssim", "SSIM", "Structural similarity: 1 means the images look the same; lower means more changed."),
        ("psnr", "PSNR (dB)", "Peak signal-to-noise ratio: higher means closer; ∞ means identical."),
        ("mse", "MSE", "Mean squared difference per pixel (image units squared)."),
        ("nmse", "NMSE", "Squared difference relative to the image's own energy."))
COLUMNS = (("vs clean", "The attacked reconstruction compared with the un-attacked one."),
           ("vs reference", "The attacked reconstruction compared with the reference (ground-truth) image."),
           ("in region", "Inside the drawn region only: attacked vs un-attacked reconstruction."),
           ("outside region", "Outside the drawn region only: attacked vs un-attacked reconstruction."),
           ("noise baseline", "Random noise of exactly the attack's size, for comparison: if the attack changes "
                              "far more than this, the model is unusually fragile there. Shown when the run ends."))
EMPTY, PENDING = "—", "…"
REDRAW_HZ = 4


def format_metric(key: str, value: float | None) -> str:
    """SSIM with 4 decimals, PSNR with 2, MSE / NMSE with 3 significant digits; ∞ for infinities."""
    if value is None:
        return EMPTY
    value = float(value)
    if math.isnan(value):
        return "n/a"
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    if key == "ssim":
        return f"{value:.4f}"
    if key == "psnr":
        return f"{value:.2f}"
    if value == 0:
        return "0"
    if abs(value) < 1e-3:
        return f"{value:.2e}"
    return f"{value:#.3g}".rstrip(".")  # keep trailing zeros: 0.00200 has three significant digits


def format_eps(eps: float, threat: dict | None) -> str:
    """The realised budget in the threat's terms: percent of ‖y‖ or ‖x‖ (their max for L∞), or absolute."""
    threat = threat or {}
    if threat.get("eps_mode", "relative") == "relative":
        reference = "‖y‖" if threat.get("domain", "measurement") == "measurement" else "‖x‖"
        return f"{eps * 100:.3g} % {reference}{'∞' if threat.get('norm') == 'linf' else ''}"
    return f"{eps:.3g}"


class MetricsPanel(QWidget):
    """The metrics table and the objective / SSIM plot of the shown run (the running one, or the selected one)."""

    def __init__(self, session: Session, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.record: RunRecord | None = None
        self._steps: list[int] = []
        self._objective: list[float] = []
        self._ssim: list[float] = []
        self.table = QTableWidget(len(ROWS), len(COLUMNS))
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.NoSelection)
        self.table.setFocusPolicy(Qt.NoFocus)
        self.table.setAlternatingRowColors(True)
        for col, (text, tip) in enumerate(COLUMNS):
            header = QTableWidgetItem(text)
            header.setToolTip(tip)
            self.table.setHorizontalHeaderItem(col, header)
        for row, (_, text, tip) in enumerate(ROWS):
            header = QTableWidgetItem(text)
            header.setToolTip(tip)
            self.table.setVerticalHeaderItem(row, header)
            for col in range(len(COLUMNS)):
                item = QTableWidgetItem(EMPTY)
                item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                self.table.setItem(row, col, item)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.Fixed)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.table.setFixedHeight(self.table.horizontalHeader().sizeHint().height() + 22 * len(ROWS) + 4)

        self.verdict = QLabel("")
        self.verdict.setWordWrap(True)
        self.verdict.setToolTip("What the finished attack found, judged against random noise of the same size and "
                                "against doing nothing.")
        self.verdict.setVisible(False)
        self.status = QLabel(EMPTY)
        self.status.setToolTip("The size of the change actually used (in the budget's units) and the attack's "
                               "speed.")
        self.plot = pg.PlotWidget()
        self.plot.setMinimumHeight(140)
        self._build_plot()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.table)
        self.verdict.setContentsMargins(4, 0, 4, 0)
        layout.addWidget(self.verdict)
        self.status.setContentsMargins(4, 0, 4, 0)
        layout.addWidget(self.status)
        layout.addWidget(self.plot, 1)

        # Curves are redrawn at most REDRAW_HZ times a second: re-ticking pyqtgraph's axes at every step
        # would stall the main thread for tens of milliseconds each time.
        self._redraw = QTimer(self)
        self._redraw.setSingleShot(True)
        self._redraw.setInterval(int(1000 / REDRAW_HZ))
        self._redraw.timeout.connect(self._draw_curves)
        session.runStarted.connect(self._on_run_started)
        session.stepArrived.connect(self._on_step)
        session.runEnded.connect(self._on_run_ended)
        session.selectedRunChanged.connect(self.show_run)

    def _build_plot(self) -> None:
        """SSIM on the left axis (0–1), the objective on its own right axis: both keep their true values."""
        item = self.plot.getPlotItem()
        item.setMenuEnabled(False)
        item.showGrid(x=True, y=True, alpha=0.15)
        item.setLabel("bottom", "step")
        item.setLabel("left", "SSIM")
        item.getAxis("left").enableAutoSIPrefix(False)  # an SSIM axis in units of 0.001 would mislead
        item.getAxis("right").enableAutoSIPrefix(False)
        item.showAxis("right")
        item.setLabel("right", "objective")
        for name in ("left", "right", "bottom"):  # repaint axes only when their ticks change
            item.getAxis(name).setCacheMode(QGraphicsItem.DeviceCoordinateCache)
        item.setYRange(0, 1.02, padding=0)
        item.enableAutoRange(y=False)
        self.objective_view = pg.ViewBox()
        item.scene().addItem(self.objective_view)
        item.getAxis("right").linkToView(self.objective_view)
        self.objective_view.setXLink(item)
        item.vb.sigResized.connect(self._sync_views)
        self.legend = legend = item.addLegend(offset=(-10, 10), brush=(30, 30, 30, 200))
        self.ssim_curve = item.plot([], [], pen=pg.mkPen(ACCENT, width=2), name="SSIM")
        self.objective_curve = pg.PlotDataItem([], [], pen=pg.mkPen("#6fa8ff", width=2))
        self.objective_view.addItem(self.objective_curve)
        legend.addItem(self.objective_curve, "objective")

    def _sync_views(self) -> None:
        self.objective_view.setGeometry(self.plot.getPlotItem().vb.sceneBoundingRect())

    # --- session -------------------------------------------------------------------------------------
    def _on_run_started(self, record: RunRecord) -> None:
        self.record = record
        self.clear()

    def _on_step(self, payload: tuple[RunRecord, AttackStep]) -> None:
        record, step = payload
        if record is self.record or self.record is None:
            self.record = record
            self.show_step(step, record.experiment.get("threat"))

    def _on_run_ended(self, record: RunRecord) -> None:
        if record is self.record:
            self._redraw.stop()
            self._draw_curves()
        if record is self.record and record.result is not None:
            self.show_result(record.result, record.experiment.get("threat"))

    def show_run(self, record: RunRecord | None) -> None:
        """Show a recorded run: its curves from the step summaries, its table from its last step or result."""
        self.record = record
        self.clear()
        if record is None:
            return
        self._total = len(record.steps)
        for summary in record.steps:
            self._append(summary["step"], summary["objective"], summary["metrics"])
        self._draw_curves()
        threat = record.experiment.get("threat")
        if record.result is not None:
            self.show_result(record.result, threat)
        elif record.last_step is not None:
            self.show_step(record.last_step, threat, plot=False)

    # --- display -------------------------------------------------------------------------------------
    def clear(self) -> None:
        """Empty the table (in place), the curves and the status line."""
        for row in range(len(ROWS)):
            for col in range(len(COLUMNS)):
                self._cell(row, col, None)
        self._steps, self._objective, self._ssim, self._total = [], [], [], 0
        self.plot.getPlotItem().enableAutoRange(x=True)
        self.ssim_curve.setData([], [])
        self.objective_curve.setData([], [])
        self.status.setText(EMPTY)
        self.verdict.setVisible(False)

    def show_step(self, step: AttackStep, threat: dict | None = None, plot: bool = True) -> None:
        """One step's numbers into the existing table items, and one more point on each curve."""
        self._fill(step.metrics, None)
        rate = step.step / step.elapsed_s if step.elapsed_s > 0 else float("nan")
        self.status.setText(f"realised ε = {format_eps(step.realised_eps, threat)}  ·  step {step.step}/{step.total}"
                            f"  ·  {rate:.3g} steps/s")
        if plot:
            self._total = step.total
            self._append(step.step, step.objective, step.metrics)

    def show_result(self, result: AttackResult, threat: dict | None = None) -> None:
        """The worst case found, with the equal-norm noise baseline."""
        self._fill(result.metrics, result.noise_metrics)
        eps = result.norms.get("realised_eps")
        eps_text = format_eps(eps, threat) if eps is not None else EMPTY
        state = "cancelled" if result.cancelled else "done"
        steps = len(result.history)
        self.status.setText(f"realised ε = {eps_text}  ·  best of {steps} step{'' if steps == 1 else 's'}  ·  "
                            f"{state} in {result.seconds:.3g} s")
        self._show_verdict(result)

    def _show_verdict(self, result: AttackResult) -> None:
        """The verdict in words above the status line; amber, with its warnings, when it limits the result."""
        verdict = result.verdict
        if verdict is None:
            self.verdict.setVisible(False)
            return
        warnings = [w for w in verdict.warnings if not verdict.headline.endswith(w + ".")]
        text = html.escape(verdict.headline) + "".join(f"<br>⚠ {html.escape(w)}" for w in warnings)
        colour = "#dcdcdc" if verdict.found and not warnings else ACCENT
        self.verdict.setText(f"<span style='color:{colour}'>{text}</span>")
        self.verdict.setVisible(True)

    def _fill(self, metrics: dict, noise: dict | None) -> None:
        clean, reference = metrics.get("vs_clean", {}), metrics.get("vs_reference")
        for row, (key, _, _) in enumerate(ROWS):
            self._cell(row, 0, clean.get(key), key)
            self._cell(row, 1, None if reference is None else reference.get(key), key)
            self._cell(row, 2, clean.get(key + "_in"), key)
            self._cell(row, 3, clean.get(key + "_out"), key)
            if noise is None:
                self.table.item(row, 4).setText(PENDING)
            else:  # with a region, noise is judged where the attack aimed: set against the "in region" column
                noise_clean = noise.get("vs_clean", {})
                suffix = "_in" if key + "_in" in noise_clean else ""
                self._cell(row, 4, noise_clean.get(key + suffix), key)
        if noise is not None:
            in_region = "ssim_in" in noise.get("vs_clean", {})
            self.table.horizontalHeaderItem(4).setText("noise, in region" if in_region else "noise baseline")

    def _cell(self, row: int, col: int, value: float | None, key: str = "") -> None:
        item = self.table.item(row, col)
        item.setText(format_metric(key, value))
        item.setToolTip("" if value is None else repr(float(value)))

    def _append(self, step: int, objective: float, metrics: dict) -> None:
        clean = metrics.get("vs_clean", {})
        in_region = "ssim_in" in clean
        if not self._steps:
            name = "region SSIM" if in_region else "SSIM"
            self.plot.getPlotItem().setLabel("left", name)
            self.legend.items[0][1].setText(name)
        self._steps.append(step)
        self._objective.append(objective)
        self._ssim.append(clean.get("ssim_in" if in_region else "ssim", float("nan")))
        if len(self._steps) == 1:  # fixed axes for the whole run: nothing jumps, nothing re-ticks per step
            total = max(self._total or step, 1)
            item = self.plot.getPlotItem()
            item.setXRange(0, total, padding=0.02)
            item.enableAutoRange(x=False)
        if not self._redraw.isActive():
            self._redraw.start()

    def _draw_curves(self) -> None:
        lowest = min((v for v in self._ssim if v == v), default=0.0)
        if lowest < 0:  # SSIM can go below 0; the axis then widens once, instead of following every step
            self.plot.getPlotItem().setYRange(min(-0.1, lowest), 1.02, padding=0)
        self.ssim_curve.setData(self._steps, self._ssim)
        self.objective_curve.setData(self._steps, self._objective)
