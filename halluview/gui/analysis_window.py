"""Attack › Analyses: the papers' other probes of instability (adversarial rotation, small features, invariance,
null-space map) on the slice, acquisition, reconstruction and region open in the main window.

The analysis runs in a worker thread (:class:`~halluview.gui.worker.JobRunner`) through the core generator
(:mod:`halluview.core.analyses`); its step records reach the main thread by a queued signal, at most 20 times a
second, and the view paints them. Cancel (or closing either window) stops at the next step. Save writes the same
folder as ``halluview-cli analyse`` (:func:`halluview.core.analyses.outputs.write_analysis`).
"""
from __future__ import annotations

import threading
import time
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from ..core.analyses.registry import MODULES, config_from, spec
from ..core.errors import APP, message_for
from .analysis_form import AnalysisForm
from .analysis_view import AnalysisViewWidget
from .dialogs import show_error
from .job_dialog import JobDialog, button
from .worker import JobRunner

JOB = "analysis"
PAINT_INTERVAL_S = 0.05  # at most 20 paints a second


class AnalysisCancelled(Exception):
    """Raised in the worker when the user cancels; the job returns None."""


def _analysis_job(name: str, config, experiment, scan, on_step, should_stop):
    """The worker thread's work: measure, reconstruct, run the analysis; (result, config, inputs, seconds)."""
    from ..core.analyses.common import analysis_input, opening_step
    from ..core.analyses.outputs import run_analysis
    from ..core.analyses.registry import spec

    inputs = analysis_input(experiment, scan)
    on_step(opening_step(inputs, spec(name).title))

    def step(record) -> None:
        if should_stop():
            raise AnalysisCancelled()
        on_step(record)

    try:
        result, seconds = run_analysis(name, inputs, config, step)
    except AnalysisCancelled:
        return None
    return result, config, inputs, seconds


class AnalysisWindow(JobDialog):
    """The analysis picker and its settings on the left, its view on the right, Run / Cancel / Save below.

    Signals
    -------
    analysisEnded(str) : "done", "cancelled" or "failed", after the last paint.
    """

    analysisEnded = Signal(str)
    _step_arrived = Signal(object)

    def __init__(self, main_window):
        super().__init__(main_window)
        self.session = main_window.session
        self.setWindowTitle("Analyses")
        self.jobs = JobRunner(self)
        self.jobs.loaded.connect(self._job_returned)
        self.session.busyChanged.connect(lambda _busy: self._update_buttons())
        self.jobs.jobFailed.connect(self._job_failed)
        self._step_arrived.connect(self._on_step, Qt.QueuedConnection)
        self._last_paint = 0.0
        self.finished_run = None  # (result, config, inputs, seconds) of the last analysis that ended
        self._build()
        self._update_buttons()
        self.resize(1280, 820)

    def _build(self) -> None:
        self.picker = QComboBox()
        for name in MODULES:
            self.picker.addItem(spec(name).title, name)
        self.picker.setToolTip("Which probe of instability to run on the slice open in the main window.")
        self.picker.currentIndexChanged.connect(self._kind_changed)
        self.form_holder = QScrollArea()
        self.form_holder.setWidgetResizable(True)
        self.form_holder.setFrameShape(QScrollArea.NoFrame)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.addWidget(QLabel("Analysis"))
        left_layout.addWidget(self.picker)
        self.about = QLabel("")
        self.about.setWordWrap(True)
        left_layout.addWidget(self.about)
        left_layout.addWidget(self.form_holder, 1)
        left.setMinimumWidth(320)
        left.setMaximumWidth(420)
        self.view = AnalysisViewWidget()
        top = QHBoxLayout()
        top.addWidget(left)
        top.addWidget(self.view, 1)
        self.run_button = button("Run ▶", self.run, "Run the analysis on the slice, acquisition, reconstruction "
                                                     "and region of the main window.")
        self.run_button.setDefault(True)
        self.cancel_button = button("Cancel", self.cancel, "Stop at the next step.")
        self.save_button = button("Save…", self.save, "Save the numbers (JSON), the figure and the images into a "
                                                       "new folder, as halluview-cli analyse does.")
        self.progress = QProgressBar()
        self.progress.setFormat("no analysis running")
        self.progress.setValue(0)
        bar = QHBoxLayout()
        for widget in (self.run_button, self.cancel_button, self.save_button):
            bar.addWidget(widget)
        bar.addWidget(self.progress, 1)
        self.status = QLabel("Pick an analysis and press Run ▶.")
        self.status.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addLayout(top, 1)
        layout.addLayout(bar)
        layout.addWidget(self.status)
        self._kind_changed()

    # --- state -------------------------------------------------------------------------------------------
    @property
    def analysis(self) -> str:
        return self.picker.currentData()

    @property
    def running(self) -> bool:
        return self._running

    def select(self, name: str) -> None:
        self.picker.setCurrentIndex(list(MODULES).index(name))

    def _kind_changed(self) -> None:
        one = spec(self.analysis)
        self.form = AnalysisForm(one.config_type)
        self.form_holder.setWidget(self.form)
        self.about.setText((one.module.__doc__ or "").strip().split("\n\n")[0])
        if not self._running:
            self.view.clear()
            self.finished_run = None
            self._update_buttons()

    def _update_buttons(self) -> None:
        attack = self.session.jobs.attack_running
        self.run_button.setEnabled(not self._running and not attack)
        self.cancel_button.setEnabled(self._running and not self._stop.is_set())
        self.save_button.setEnabled(not self._running and self.finished_run is not None)
        self.picker.setEnabled(not self._running)
        self.form_holder.setEnabled(not self._running)
        run_action = getattr(self.main_window, "actions_by_name", {}).get("run")
        if run_action is not None and not attack:  # one job owns the device: no attack during an analysis
            run_action.setEnabled(not self._running)

    def _say(self, text: str) -> None:
        self.status.setText(text)

    # --- running -----------------------------------------------------------------------------------------
    def run(self) -> None:
        if self._running or self.session.jobs.attack_running:
            return
        scan = self.session.scan
        if scan is None:
            show_error(self, "Open a scan in the main window first: the analysis runs on the slice open there.")
            return
        try:
            config = config_from(self.analysis, self.form.values())
        except ValueError as err:
            show_error(self, message_for(err, APP))
            return
        self._stop = threading.Event()
        self._running, self.finished_run = True, None
        self.view.clear()
        self.progress.setRange(0, 0)
        self.progress.setFormat("preparing")
        self._say("Preparing: acquiring the slice and reconstructing it.")
        self._update_buttons()
        self.jobs.run(JOB, _analysis_job, self.analysis, config, self.session.run_experiment(), scan,
                      self._from_worker, self._stop.is_set)

    def _from_worker(self, record) -> None:
        """In the worker thread: forward a step when it has something to paint now (≤ 20 a second)."""
        now = time.monotonic()
        if now - self._last_paint >= PAINT_INTERVAL_S or record.step >= record.total:
            self._last_paint = now
            self._step_arrived.emit(record)

    def _on_step(self, record) -> None:
        if not self._running:
            return
        self.progress.setRange(0, max(record.total, 1))
        self.progress.setValue(min(record.step, record.total))
        self.progress.setFormat(f"step {record.step} of {record.total}")
        self._say(record.message)
        if record.view is not None:
            self.view.show_view(record.view)

    def _job_returned(self, key, value) -> None:
        if key != JOB:
            return
        self._running = False
        if value is None:
            self.progress.setFormat("cancelled")
            self._say("Cancelled: nothing was kept.")
            self._update_buttons()
            self.analysisEnded.emit("cancelled")
            return
        self.finished_run = value
        result = value[0]
        self.view.show_view(result.view())
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        self.progress.setFormat(f"done in {value[3]:.1f} s")
        self._say(f"{value[2].label}: {result.headline()}")
        self._update_buttons()
        self.analysisEnded.emit("done")

    def _job_failed(self, key, message: str, details: str) -> None:
        if key != JOB:
            return
        self._running = False
        self.progress.setRange(0, 1)
        self.progress.setFormat("failed")
        self._say(f"The analysis stopped on an error: {message}")
        self._update_buttons()
        show_error(self, message, details)
        self.analysisEnded.emit("failed")

    # --- saving ------------------------------------------------------------------------------------------
    def save(self, folder: str | Path | None = None) -> Path | None:
        """Write analysis.json, the figure and the panels into a new folder (asked for when not given)."""
        from ..core.analyses.outputs import write_analysis
        from ..core.validation import check_output_folder

        if self.finished_run is None:
            return None
        if folder is None:
            chosen = QFileDialog.getSaveFileName(self, "Save the analysis into a new folder",
                                                 str(Path.home() / f"{self.analysis}-analysis"))[0]
            if not chosen:
                return None
            folder = chosen
        result, config, inputs, seconds = self.finished_run
        try:
            check_output_folder(folder)
            report = write_analysis(self.analysis, result, config, inputs, seconds, folder)
        except (OSError, ValueError) as err:
            show_error(self, message_for(err, APP))
            return None
        self._say(f"Saved {report.parent}")
        return report


def show_analysis_window(main_window, name: str | None = None) -> AnalysisWindow:
    """Open (or bring forward) the main window's analysis window, with analysis ``name`` picked."""
    window = getattr(main_window, "analysis_window", None)
    if window is None:
        window = main_window.analysis_window = AnalysisWindow(main_window)
    if name is not None and not window.running:
        window.select(name)
    window.show()
    window.raise_()
    window.activateWindow()
    return window
