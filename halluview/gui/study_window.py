"""Attack › Compare reconstructions…: a robustness study of the open scan (issue 12), run in the background.

The ticked reconstructions are attacked at every ε, slice and seed with the main window's other settings
(:func:`halluview.core.study.shared.app_study`), by :func:`halluview.core.study.local.run_study` in a worker thread
(:class:`~halluview.gui.worker.JobRunner`). Each finished cell arrives on the main thread by a signal with the table
so far; the plot and the verdict are painted from :mod:`halluview.core.study.summary`. Cancel (or closing this
window or the main one) stops between attack steps; the table keeps every finished cell, and running again into the
same folder skips them.
"""
from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ..core.errors import APP, message_for
from ..core.estimate import duration
from ..core.study.grid import recon_label
from ..core.study.local import read_table, run_study
from ..core.study.shared import app_study
from ..core.validation import check_writable_folder
from .dialogs import show_error
from .job_dialog import JobDialog, button
from .study_export import export_figure, export_report, export_table
from .study_plot import StudyPlot
from .study_settings import StudySettings
from .study_verdict import VerdictTable
from .worker import JobRunner

JOB = "study"
RUN_TIP = ("Attack every ticked reconstruction at every ε, slice and seed, and compare each with random noise of the "
           "same size. Finished cells are kept in the folder's table: running again skips them.")


def _study_job(config, folder: Path, on_cell, should_stop) -> list[dict]:
    """The worker thread's work: the whole study, reporting each cell; returns the rows (so far, when stopped)."""
    return run_study(config, folder, resume=True, on_cell=on_cell, should_stop=should_stop)


class StudyWindow(JobDialog):
    """The study's settings on the left, its live plot and verdict on the right, Run / Cancel and progress below.

    Signals
    -------
    cellFinished(int, int, str) : index, total and status ("done", "skipped", "failed") of a cell, after painting.
    studyEnded(str) : "done", "cancelled" or "failed", after the last rows are painted.
    """

    STOPPING = "Stopping after the current attack step…"
    cellFinished = Signal(int, int, str)
    studyEnded = Signal(str)
    _cell_arrived = Signal(int, int, str, str, object)  # from the worker thread: index, total, key, status, rows

    def __init__(self, main_window):
        super().__init__(main_window)
        self.session = main_window.session
        self.setWindowTitle("Compare reconstructions")
        self.jobs = JobRunner(self)
        self.jobs.loaded.connect(self._job_returned)
        self.jobs.jobFailed.connect(self._job_failed)
        self._cell_arrived.connect(self._on_cell, Qt.QueuedConnection)
        self.config, self.folder = None, None
        self.rows: list[dict] = []
        self.keys: set[str] = set()  # the cells of this study: rows of other settings in the table are not shown
        self.counts: Counter = Counter()
        self._started = 0.0
        self._build()
        for signal in (self.session.scanChanged, self.session.settingsChanged, self.session.sliceChanged,
                       self.session.regionsChanged):
            signal.connect(self.settings.refresh)
        self.session.busyChanged.connect(lambda _busy: self._update_buttons())
        self._update_buttons()
        self.resize(1240, 800)

    # --- layout ------------------------------------------------------------------------------------------
    def _build(self) -> None:
        self.settings = StudySettings(self.session)
        scroll = QScrollArea()
        scroll.setWidget(self.settings)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(380)
        scroll.setMaximumWidth(460)
        self.plot = StudyPlot()
        self.verdict = VerdictTable()
        self.export_buttons = [
            button("Figure (SVG)…", self.export_figure, "Save the plot of ΔSSIM against ε as a vector figure."),
            button("Table (CSV)…", self.export_table, "Save a copy of the study's table: one row per attack and "
                                                       "per noise draw of the same size."),
            button("Report (HTML)", self.export_report, "Write the summary report (HTML with its figures) into the "
                                                         "study's folder, beside its table."),
        ]
        self.metric_picker = QComboBox()
        self.metric_picker.addItem("ΔSSIM", "ssim")
        self.metric_picker.addItem("ΔPSNR (dB)", "psnr")
        self.metric_picker.setToolTip("What the plot shows: how much structural similarity (SSIM) or signal-to-noise "
                                      "ratio (PSNR) the reconstruction lost; PSNR needs the true image.")
        self.metric_picker.currentIndexChanged.connect(self._metric_changed)
        exports = QHBoxLayout()
        exports.addWidget(QLabel("Plot:"))
        exports.addWidget(self.metric_picker)
        exports.addSpacing(16)
        exports.addWidget(QLabel("Export:"))
        for export_button in self.export_buttons:
            exports.addWidget(export_button)
        exports.addStretch(1)
        lower = QWidget()
        lower_layout = QVBoxLayout(lower)
        lower_layout.setContentsMargins(0, 0, 0, 0)
        lower_layout.addWidget(self.verdict, 1)
        lower_layout.addLayout(exports)
        splitter = QSplitter(Qt.Vertical)
        splitter.addWidget(self.plot)
        splitter.addWidget(lower)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setChildrenCollapsible(False)
        top = QHBoxLayout()
        top.addWidget(scroll)
        top.addWidget(splitter, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top, 1)
        layout.addLayout(self._run_bar())
        self.status = QLabel("Tick the reconstructions to compare (or add your own model), then Run ▶.")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextSelectableByMouse)
        layout.addWidget(self.status)

    def _run_bar(self) -> QHBoxLayout:
        self.run_button = button("Run ▶", self.run, RUN_TIP)
        self.run_button.setDefault(True)
        self.cancel_button = button("Cancel", self.cancel, "Stop the study after the current attack step; the "
                                                            "finished cells stay in the table.")
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.setFormat("no study running")
        self.progress.setValue(0)
        bar = QHBoxLayout()
        bar.addWidget(self.run_button)
        bar.addWidget(self.cancel_button)
        bar.addWidget(self.progress, 1)
        return bar

    # --- state -------------------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._running

    def _update_buttons(self) -> None:
        attack = self.session.jobs.attack_running
        self.run_button.setEnabled(not self._running and not attack)
        self.run_button.setToolTip("An attack is running in the main window: run the study when it ends."
                                   if attack and not self._running else RUN_TIP)
        self.cancel_button.setEnabled(self._running and not self._stop.is_set())
        self.settings.setEnabled(not self._running)
        has_rows = any(r.get("status") == "done" for r in self.rows)
        for export_button in self.export_buttons:
            export_button.setEnabled(has_rows)
        run_action = getattr(self.main_window, "actions_by_name", {}).get("run")
        if run_action is not None and not attack:  # one job owns the device: no single attack during a study
            run_action.setEnabled(not self._running)

    def _say(self, text: str) -> None:
        self.status.setText(text)

    # --- running -----------------------------------------------------------------------------------------
    def run(self) -> None:
        """Start the study of the ticked reconstructions (the settings' errors go to a dialog)."""
        if self._running or self.session.jobs.attack_running:
            return
        scan = self.session.scan
        if scan is None:
            show_error(self, "Open a scan in the main window first: the study attacks the scan open there.")
            return
        try:
            config = app_study(self.session.run_experiment(), self.session.choices, self.settings.recons(),
                               self.settings.eps(), self.settings.slices(scan.n_slices), self.settings.seeds.value())
            folder = self.settings.folder()
            check_writable_folder(folder)
        except ValueError as err:  # ExperimentError: one line in the app's words
            show_error(self, message_for(err, APP))
            return
        already = sum(1 for r in read_table(folder) if r.get("status") == "done" and r.get("kind") == "attack")
        self.config, self.folder, self.rows, self.keys, self.counts = config, folder, [], set(), Counter()
        self._stop = threading.Event()
        self.plot.clear_curves()
        self.plot.set_recons([recon_label(recon) for recon in config.recons])
        self.verdict.show_rows([])
        self.progress.setRange(0, 0)  # busy until the first cell reports
        self.progress.setFormat("preparing")
        resume = (f" This folder's table already holds {already} finished cell{'s' * (already != 1)}: those of "
                  "this study are skipped, not run again." if already else "")
        self._say(f"Preparing: reading the scan and the reconstructions.{resume}")
        self._running, self._started = True, time.monotonic()
        self._update_buttons()
        self.jobs.run(JOB, _study_job, config, folder, self._from_worker, self._stop.is_set)

    def _from_worker(self, index: int, total: int, cell, status: str, rows: list[dict]) -> None:
        """Called in the worker thread: hand a copy of the table so far to the main thread."""
        self._cell_arrived.emit(index, total, cell.key, status, [dict(r) for r in rows])

    def _on_cell(self, index: int, total: int, key: str, status: str, rows: list[dict]) -> None:
        if not self._running:
            return
        self.keys.add(key)
        self.counts[status] += 1
        self._show(rows)
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(index + 1)
        self.progress.setFormat(f"cell {index + 1} of {total} · {self._eta(index + 1, total)}")
        self._say(self._counts_words() + f" · table: {self.folder}")
        self.cellFinished.emit(index, total, status)

    def _eta(self, reported: int, total: int) -> str:
        run = self.counts["done"] + self.counts["failed"]
        left = total - reported
        if left <= 0:
            return "finishing"
        if not run:
            return "ETA …"
        return f"ETA {duration((time.monotonic() - self._started) / run * left)}"

    def _counts_words(self) -> str:
        done, skipped, failed = self.counts["done"], self.counts["skipped"], self.counts["failed"]
        words = [f"{done} cell{'s' * (done != 1)} run"]
        if skipped:
            words.append(f"{skipped} already in the table (skipped, not run again)")
        if failed:
            words.append(f"{failed} failed (their errors are in the table)")
        return ", ".join(words)

    def _show(self, rows: list[dict]) -> None:
        self.rows = [r for r in rows if r.get("key") in self.keys]
        self.plot.show_rows(self.rows, self.metric)
        self.verdict.show_rows(self.rows, self.plot.colour)

    @property
    def metric(self) -> str:
        return self.metric_picker.currentData()

    def _metric_changed(self) -> None:
        self.plot.clear_curves()
        self.plot.show_rows(self.rows, self.metric)

    def _job_returned(self, key, rows) -> None:
        if key != JOB:
            return
        if self.keys:
            self._show(rows)
        stopped = self._stop.is_set()
        self._finish("cancelled" if stopped else "done")
        failed = [r for r in self.rows if r.get("status") == "failed"]
        if stopped:
            self._say(f"Stopped: {self._counts_words()}. The table keeps them: Run ▶ again into the same folder "
                      f"resumes. Table: {self.folder}")
        else:
            self._say(f"Finished: {self._counts_words()}. Table: {self.folder}")
        if failed and not self.counts["done"] and not self.counts["skipped"]:
            show_error(self, f"Every cell of the study failed. The first error: {failed[0].get('error')}")
        self.studyEnded.emit("cancelled" if stopped else "done")

    def _job_failed(self, key, message: str, details: str) -> None:
        if key != JOB:
            return
        self._finish("failed")
        self._say(f"The study stopped on an error: {message}")
        show_error(self, message, details)
        self.studyEnded.emit("failed")

    def _finish(self, status: str) -> None:
        self._running = False
        self.progress.setRange(0, max(self.progress.maximum(), 1))
        if status != "done":
            self.progress.setFormat(f"{status} at cell {self.progress.value()} of {self.progress.maximum()}")
        else:
            self.progress.setValue(self.progress.maximum())
            self.progress.setFormat(f"all {self.progress.maximum()} cells")
        self._update_buttons()

    # --- exports -----------------------------------------------------------------------------------------
    def _export(self, action) -> None:
        try:
            saved = action()
        except (OSError, ValueError, ImportError) as err:
            show_error(self, message_for(err, APP))
            return
        if saved:
            shown = saved[0] if isinstance(saved, list) else saved
            self._say(f"Saved {shown}")

    def export_figure(self) -> None:
        self._export(lambda: export_figure(self, self.folder, self.rows, self.metric))

    def export_table(self) -> None:
        self._export(lambda: export_table(self, self.folder))

    def export_report(self) -> None:
        self._export(lambda: export_report(self.folder, self.rows, self.config))


def show_study_window(main_window) -> StudyWindow:
    """Open (or bring forward) the main window's study window; there is one per main window."""
    window = getattr(main_window, "study_window", None)
    if window is None:
        window = main_window.study_window = StudyWindow(main_window)
    window.settings.refresh()
    window.show()
    window.raise_()
    window.activateWindow()
    return window
