"""The live numbers of the run on screen: which run they are, a table (SSIM, PSNR, MSE, NMSE vs clean / reference /
in and outside the region / noise of the same size, updated in place; VIF, segment RMSE, RFS and the change's
high-frequency share once the run ends), where the worst segment is, the verdict in plain words with the noise's
own image one click away, and the progress plot.

Every number shown is read from an :class:`AttackStep` or :class:`AttackResult` (computed by ``core.metrics``);
nothing is recomputed here. Nothing stays on screen that does not belong to the images: a new scan, slice or model
clears it.
"""
from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGridLayout, QPushButton, QVBoxLayout, QWidget

from ...core.attacks.run import AttackResult, AttackStep
from ...core.attacks.verdict import in_words
from ...core.display import format_eps
from ...core.recon.test_time import test_time_words
from ..session import RunRecord, Session
from ..theme import ACCENT
from .clinical_words import segments_words, worst_segment_words
from .metrics_table import EMPTY, MetricsTable, format_metric
from .progress_plot import ProgressPlot
from .wrapping_label import WrappingLabel

NO_RUN = "No attack on these images yet: press Run ▶."
VERDICT_MIN_WIDTH = 200
"""Narrowest verdict beside the table (pixels); a narrower panel shows it below the table instead."""
EPS_USED_TIP = ("How much the measurement was actually altered, as a share of its own size (the realised ε, in the "
                "threat's norm), and the attack's speed.")


class MetricsPanel(QWidget):
    """The table, verdict and progress plot of the run on screen (the running one, or the one picked in history).

    Signals
    -------
    noiseToggled(bool) : the user asked to see (True) or hide the reconstruction under random noise of the same size.
    """

    noiseToggled = Signal(bool)

    def __init__(self, session: Session, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.record: RunRecord | None = None
        self.heading = WrappingLabel(NO_RUN)
        self.heading.setStyleSheet("font-weight: bold;")
        self.heading.setToolTip("The run these numbers and the images above belong to.")
        self.table = MetricsTable()
        self.verdict = WrappingLabel("")
        self.verdict.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        self.verdict.setStyleSheet("font-size: 14px;")
        self.verdict.setToolTip("What the finished attack found, judged against random noise of the same size and "
                                "against doing nothing.")
        self.verdict.setVisible(False)
        self.noise_button = QPushButton("Show the same-size noise")
        self.noise_button.setCheckable(True)
        self.noise_button.setToolTip("Show the reconstruction of the measurement plus random noise of exactly the "
                                     "attack's size (its first draw) in place of the attacked one.")
        self.noise_button.toggled.connect(self._noise_toggled)
        self.noise_button.setVisible(False)
        self.status = WrappingLabel(EMPTY)  # a finished run's line is long: it wraps rather than widen the window
        self.status.setToolTip(EPS_USED_TIP)
        self.where = WrappingLabel("")
        self.where.setToolTip("Where the largest segment error (MaxSRMSE) is, in the panels' pixel coordinates "
                              "(the pixel readout in the status bar uses the same): look there in the difference.")
        self.where.setVisible(False)
        self.plot = ProgressPlot()
        self.verdict_box = QWidget()  # the verdict and its noise button: beside the table, or below it when narrow
        box = QVBoxLayout(self.verdict_box)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.verdict)
        box.addWidget(self.noise_button, 0, Qt.AlignLeft)
        box.addStretch(1)
        self.verdict_box.setVisible(False)
        self.verdict_beside: bool | None = None
        layout = QGridLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.setHorizontalSpacing(10)
        layout.setVerticalSpacing(4)
        layout.addWidget(self.heading, 0, 0, 1, 2)
        layout.addWidget(self.table, 1, 0)
        layout.addWidget(self.status, 3, 0, 1, 2)
        layout.addWidget(self.where, 4, 0, 1, 2)
        layout.addWidget(self.plot, 5, 0, 1, 2)
        layout.setColumnStretch(0, 3)
        layout.setRowStretch(5, 1)
        self._place_verdict()
        session.runStarted.connect(self._on_run_started)
        session.stepArrived.connect(self._on_step)
        session.runEnded.connect(self._on_run_ended)
        session.selectedRunChanged.connect(self.show_run)
        session.scanChanged.connect(self._stale)
        session.sliceChanged.connect(self._stale)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._place_verdict()

    def _place_verdict(self) -> None:
        """The verdict beside the table where both fit, below it otherwise: the numbers are never squeezed."""
        margins = self.layout().contentsMargins()
        room = self.width() - margins.left() - margins.right() - self.layout().horizontalSpacing()
        beside = room - self.table.minimumWidth() >= VERDICT_MIN_WIDTH
        if beside != self.verdict_beside:
            self.verdict_beside = beside
            self.layout().removeWidget(self.verdict_box)
            if beside:
                self.layout().addWidget(self.verdict_box, 1, 1)
            else:
                self.layout().addWidget(self.verdict_box, 2, 0, 1, 2)
        self._share_the_width()

    def _show_verdict_box(self) -> None:
        self.verdict_box.setVisible(not self.verdict.isHidden() or not self.noise_button.isHidden())
        self._share_the_width()

    def _share_the_width(self) -> None:
        """The table takes the width the verdict beside it does not use."""
        self.layout().setColumnStretch(1, 2 if self.verdict_beside and not self.verdict_box.isHidden() else 0)

    # the curves live in the plot; tests and exports read them here
    @property
    def ssim_curve(self):
        return self.plot.ssim_curve

    @property
    def objective_curve(self):
        return self.plot.objective_curve

    # --- session -------------------------------------------------------------------------------------
    def _on_run_started(self, record: RunRecord) -> None:
        self.record = record
        self.clear()
        self._set_heading(record)

    def _on_step(self, payload: tuple[RunRecord, AttackStep]) -> None:
        record, step = payload
        if record is self.record or self.record is None:
            self.record = record
            self.show_step(step, record.experiment.get("threat"))
            if step.step == 1 or len(self.plot._steps) == 1:
                self._set_heading(record)

    def _on_run_ended(self, record: RunRecord) -> None:
        if record is not self.record:
            return
        self.plot.draw()
        self._set_heading(record)
        if record.result is not None:
            self.show_result(record.result, record.experiment.get("threat"))
            self._mark_transfer_end(record)

    def _stale(self, *_) -> None:
        """A new scan or slice: the numbers on screen belong to other images (a run in progress keeps its own)."""
        if self.record is not None and self.record.status == "running":
            return
        self.show_run(None)

    def show_run(self, record: RunRecord | None) -> None:
        """Show a recorded run: its curves from the step summaries, its table from its last step or result."""
        self.record = record
        self.clear()
        self._set_heading(record)
        if record is None:
            return
        for summary in record.steps:
            self._append(summary["step"], summary["objective"], summary["metrics"], len(record.steps))
        self.plot.draw()
        threat = record.experiment.get("threat")
        if record.result is not None:
            self.show_result(record.result, threat)
            self._mark_transfer_end(record)
        elif record.last_step is not None:
            self.show_step(record.last_step, threat, plot=False)

    def _set_heading(self, record: RunRecord | None) -> None:
        if record is None:
            self.heading.setText(NO_RUN)
            return
        surrogate = record.experiment.get("surrogate")
        text = f"Run {record.label}"
        if surrogate and record.status == "running":
            text += f" — transfer: the perturbation is found on {surrogate}; the numbers below are {surrogate}'s " \
                    "until the attack ends"
        elif surrogate:
            text += f" — transfer from {surrogate}"
        self.heading.setText(text)

    # --- display -------------------------------------------------------------------------------------
    def clear(self) -> None:
        """Empty the table (in place), the curves, the verdict and the status line."""
        self.table.clear_cells()
        self.plot.clear_curves()
        self.status.setText(EMPTY)
        self.where.setVisible(False)
        self.verdict.setVisible(False)
        self.noise_button.setChecked(False)
        self.noise_button.setVisible(False)
        self._show_verdict_box()

    def show_step(self, step: AttackStep, threat: dict | None = None, plot: bool = True) -> None:
        """One step's numbers into the existing table items (steps read between paints have none), and one more
        point on each curve."""
        if step.metrics:
            self.table.fill(step.metrics, None)
        done = step.completed or step.step  # restarts side by side number their steps apart
        rate = done / step.elapsed_s if step.elapsed_s > 0 else float("nan")
        used = format_eps(step.realised_eps, threat, plain=True)
        self.status.setText(f"perturbation used: {used}  ·  step {done}/{step.total}  ·  {rate:.3g} steps/s")
        if plot:
            self._append(step.step, step.objective, step.metrics, step.total)

    def show_result(self, result: AttackResult, threat: dict | None = None) -> None:
        """The worst case found, with the equal-norm noise baseline."""
        self.table.fill(result.metrics, result.noise_metrics)
        self.table.fill_change_share(result.norms, "ssim_in" in result.noise_metrics.get("vs_clean", {}))
        self.table.describe_segments(segments_words(result))
        where = worst_segment_words(result, format_metric)
        self.where.setText(where)
        self.where.setVisible(bool(where))
        eps = result.norms.get("realised_eps")
        eps_text = format_eps(eps, threat, plain=True) if eps is not None else EMPTY
        steps = len(result.history)
        if eps is not None:
            self.status.setToolTip(f"{EPS_USED_TIP} Exactly: realised ε = {format_eps(eps, threat)}.")
        self.status.setText(f"perturbation used: {eps_text}  ·  best of {steps} step{'' if steps == 1 else 's'}  ·  "
                            f"done in {result.seconds:.3g} s")
        self._show_verdict(result)
        self.noise_button.setVisible(result.noise_example is not None)
        self._show_verdict_box()

    def _show_verdict(self, result: AttackResult) -> None:
        """The verdict in plain words beside the table; amber, with its warnings, when it limits the result."""
        verdict = result.verdict
        if verdict is None:
            self.verdict.setVisible(False)
            return
        kind = (result.config.get("objective") or {}).get("kind", "untargeted")
        words = in_words(kind, verdict, result.metrics, result.noise_metrics)
        warnings = [w for w in verdict.warnings if not verdict.headline.endswith(w + ".")]
        text = html.escape(words) + "".join(f"<br>⚠ {html.escape(w)}" for w in warnings)
        if result.test_time:  # what tuning to the scan did, and the network tuned afresh on the attacked data
            text += f"<br>{html.escape(test_time_words(result.test_time))}"
        colour = "#dcdcdc" if verdict.found and not warnings else ACCENT
        self.verdict.setText(f"<span style='color:{colour}'>{text}</span>")
        self.verdict.setToolTip(f"{verdict.headline}\n(the exact numbers: noise ratio {verdict.noise_ratio!r}, "
                                f"budget used {verdict.budget_used!r})")
        self.verdict.setVisible(True)

    def _noise_toggled(self, shown: bool) -> None:
        self.noise_button.setText("Show the attack again" if shown else "Show the same-size noise")
        self.noiseToggled.emit(shown)

    def _mark_transfer_end(self, record: RunRecord) -> None:
        """A transfer's curves are the surrogate's; its table is the attacked model's: mark that number."""
        surrogate = record.experiment.get("surrogate")
        if not surrogate or not record.steps:
            return
        clean = record.result.metrics.get("vs_clean", {})
        key = "ssim_in" if "ssim_in" in clean else "ssim"
        if key in clean:
            name = record.experiment["recon"]["name"]
            self.plot.mark_final(record.steps[-1]["step"], clean[key], f"{name} at the end (table)")

    def _append(self, step: int, objective: float, metrics: dict, total: int) -> None:
        clean = metrics.get("vs_clean", {})
        in_region = "ssim_in" in clean
        if not self.plot._steps:
            surrogate = (self.record.experiment.get("surrogate") if self.record is not None else None)
            self.plot.set_names("region SSIM" if in_region else "SSIM",
                                f" ({surrogate}, surrogate)" if surrogate else "")
        self.plot.append(step, objective, clean.get("ssim_in" if in_region else "ssim", float("nan")), total)
