"""The main window: image panels in the middle, settings on the sides, live numbers below."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDockWidget,
    QLabel,
    QMainWindow,
    QProgressBar,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ..core.estimate import estimate_run
from ..core.samples import SAMPLES
from ..core.settings import WindowSettings
from . import menus
from .dialogs import confirm, show_error
from .drawing import DrawingController
from .live import LivePainter
from .panels.draw_panel import DrawPanel
from .panels.history_panel import HistoryPanel
from .panels.metrics_panel import MetricsPanel
from .panels.model_panel import ModelPanel
from .panels.objective_panel import ObjectivePanel
from .panels.operator_panel import OperatorPanel
from .panels.optimizer_panel import OptimizerPanel
from .panels.scan_panel import ScanPanel
from .panels.threat_panel import ThreatPanel
from .segments_choice import check_segments
from .session import Session
from .views import ImagePanels

MAX_RECENT = 8


def _column(*widgets: QWidget) -> QScrollArea:
    inner = QWidget()
    layout = QVBoxLayout(inner)
    layout.setContentsMargins(6, 6, 6, 6)
    for widget in widgets:
        layout.addWidget(widget)
    layout.addStretch(1)
    scroll = QScrollArea()
    scroll.setWidget(inner)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QScrollArea.NoFrame)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)  # the settings fit the dock's width
    return scroll


class MainWindow(QMainWindow):
    """HalluView's window. ``session`` holds the state; this class lays out views and wires signals."""

    attackIdle = Signal()  # emitted when no attack runs any more (screenshots, tests, the demo tour)

    def __init__(self, session: Session | None = None):
        super().__init__()
        self.session = session or Session(self)
        self.setWindowTitle("HalluView")
        self.setAcceptDrops(True)
        self._fit_screen()
        self.settings = QSettings("HalluView", "HalluView")
        self.unsaved_runs: set[int] = set()  # finished runs not yet in a saved session or report
        self._build_centre()
        self._build_docks()
        menus.build(self)
        self._build_status()
        self._connect()

    # --- layout ------------------------------------------------------------------------------------------
    def _fit_screen(self) -> None:
        """Start at 90 % of the screen (at least 1500 × 900 where it fits): the images want the space."""
        screen = self.screen().availableGeometry() if self.screen() is not None else None
        if screen is None or screen.width() < 100:
            self.resize(1500, 900)
            return
        self.resize(max(min(1500, screen.width()), int(screen.width() * 0.9)),
                    max(min(900, screen.height()), int(screen.height() * 0.9)))
    def _build_centre(self) -> None:
        self.panels = ImagePanels()
        self.metrics_panel = MetricsPanel(self.session)
        splitter = QSplitter(Qt.Vertical)
        splitter.addWidget(self.panels)
        splitter.addWidget(self.metrics_panel)
        splitter.setStretchFactor(0, 5)
        splitter.setStretchFactor(1, 2)
        splitter.setCollapsible(0, False)
        self.setCentralWidget(splitter)
        self.drawing = DrawingController(self.panels, self.session)
        self.live = LivePainter(self.session, self.panels, self)
        self.metrics_panel.noiseToggled.connect(self.live.show_noise)

    def _dock(self, title: str, area, widget: QWidget) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(title)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetMovable | QDockWidget.DockWidgetFloatable)
        self.addDockWidget(area, dock)
        return dock

    def _build_docks(self) -> None:
        s = self.session
        self.scan_panel, self.operator_panel, self.model_panel = ScanPanel(s), OperatorPanel(s), ModelPanel(s)
        self.threat_panel, self.objective_panel = ThreatPanel(s), ObjectivePanel(s)
        self.draw_panel, self.optimizer_panel = DrawPanel(s, self.drawing), OptimizerPanel(s)
        self.history_panel = HistoryPanel(s)
        left = _column(self.scan_panel, self.operator_panel, self.model_panel)
        right = _column(self.threat_panel, self.objective_panel, self.draw_panel, self.optimizer_panel,
                        self.history_panel)
        left.setMinimumWidth(260)
        right.setMinimumWidth(330)
        self.left_dock = self._dock("Scan and model", Qt.LeftDockWidgetArea, left)
        self.right_dock = self._dock("Attack", Qt.RightDockWidgetArea, right)
        self.resizeDocks([self.left_dock, self.right_dock], [290, 335], Qt.Horizontal)  # the images get the rest

    def _build_status(self) -> None:
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(220)
        self.progress.setFormat("%v / %m")
        self.progress_label = QLabel("")
        self.pixel_label = QLabel("")
        self.statusBar().addWidget(self.progress_label, 1)
        self.statusBar().addPermanentWidget(self.pixel_label)
        self.toolbar.addWidget(self.progress)

    def _connect(self) -> None:
        s = self.session
        s.errorOccurred.connect(lambda message, details: show_error(self, message, details))
        s.busyChanged.connect(self._on_busy)
        s.scanChanged.connect(self._on_scan)
        s.sliceChanged.connect(self._on_slice)
        s.runStarted.connect(self._on_run_started)
        s.runEnded.connect(self._on_run_ended)
        s.regionsChanged.connect(self._on_regions)
        s.previewReady.connect(self._on_preview)
        s.settingsChanged.connect(self._say_estimate)
        self.live.progress.connect(self._on_progress)
        self.panels.cursorMoved.connect(self._on_cursor)
        self.scan_panel.presetChosen.connect(lambda width, level: s.set_window(WindowSettings(level, width)))
        self.scan_panel.autoWindowRequested.connect(lambda: s.set_window(None))
        s.windowChanged.connect(self._apply_window)
        self.model_panel.errorRaised.connect(lambda message, details: show_error(self, message, details))
        self.history_panel.compareRequested.connect(self._compare)
        self.panels.wheelSlice.connect(lambda steps: s.set_slice(s.slice_index + steps))
        for key, step in ((Qt.Key_Up, -1), (Qt.Key_Down, 1)):
            QShortcut(QKeySequence(key), self, activated=lambda step=step: s.set_slice(s.slice_index + step))

    # --- reactions ---------------------------------------------------------------------------------------
    def _on_scan(self) -> None:
        scan = self.session.scan
        self.setWindowTitle(f"HalluView — {scan.name}")
        self.panels.set_wheel_changes_slice(scan.n_slices > 1)
        self._on_slice(self.session.slice_index)
        if scan.source and not scan.source.startswith("demo:"):
            self._remember(scan.source)
        self.progress.reset()
        self.progress_label.setText("")

    def _on_slice(self, index: int) -> None:
        """Readouts, windows and the colour bar in the scan's units (HU for CT) for this slice."""
        if self.session.scan is not None:
            self.panels.set_units(self.session.unit_map())

    def _on_preview(self, problem) -> None:
        if not self.session.jobs.attack_running:
            self._apply_window()
        self._on_regions()
        self._say_estimate()

    def _say_estimate(self) -> None:
        """Before a run: how long it will take, from the time this slice's clean reconstruction took."""
        preview = self.session.preview
        if preview is None or self.session.jobs.attack_running:
            return
        self.progress_label.setText(f"Run ▶ will take {estimate_run(self.session.experiment, preview.seconds).words()}")

    def _on_regions(self) -> None:
        shape = self.session.image_shape()
        self.panels.set_region_mask(self.session.regions.mask(shape) if shape else None)

    def _apply_window(self, *_) -> None:
        """The session's window (a preset, in the scan's units) on the reconstructions; none: fit the clean one."""
        levels = self.session.display_levels()
        if levels is None and self.session.preview is not None:
            clean = self.session.preview.clean[0].cpu().numpy()
            levels = float(clean.min()), float(clean.max())
        if levels is not None:
            self.panels.set_levels(*levels)

    def _on_busy(self, busy: bool) -> None:
        menus.set_running(self, busy)
        if not busy:
            menus.show_paused(self, False)
            self.attackIdle.emit()

    def _on_run_started(self, record) -> None:
        self.unsaved_runs.add(record.number)

    def _on_run_ended(self, record) -> None:
        if record.status != "done":  # a stopped run's bar shows how far it got, not a full bar
            self.progress.setFormat(f"{record.status} at %v / %m")
        if record.result is None:
            self.unsaved_runs.discard(record.number)

    def _on_progress(self, done: int, total: int, text: str) -> None:
        if done == 0:
            self.progress.setFormat("%v / %m")
        self.progress.setMaximum(max(total, 1))
        self.progress.setValue(done)
        self.progress_label.setText(text)

    def toggle_pause(self) -> None:
        """Pause or resume the attack; the button and the status line say which."""
        jobs = self.session.jobs
        if not jobs.attack_running:
            return
        paused = not self._paused
        jobs.toggle_pause()
        menus.show_paused(self, paused)
        if paused:
            self.progress_label.setText("Paused — press Resume (Space) to go on, or Cancel (Esc) to stop.")

    @property
    def _paused(self) -> bool:
        return self.actions_by_name["pause"].text().startswith("Resume")

    def saved(self, numbers) -> None:
        """Runs now kept in a report or session file: closing the window no longer asks about them."""
        self.unsaved_runs.difference_update(numbers)

    def show_side_panels(self, visible: bool) -> None:
        """Both settings docks shown or hidden together: hidden, the images take the whole width."""
        self.actions_by_name["side_panels"].setChecked(visible)
        for dock in (self.left_dock, self.right_dock):
            dock.setVisible(visible)

    def say(self, text: str) -> None:
        """A message in the status bar for a few seconds (where an export was saved, ...)."""
        self.statusBar().showMessage(text, 8000)

    def _on_cursor(self, row: int, col: int) -> None:
        values = self.panels.values_at(row, col)
        if not values:
            self.pixel_label.setText("")
            return
        parts = " ".join(f"{name.split()[0].lower()} {value:+.4g}" if "Difference" in name else
                         f"{name.split()[0].lower()} {value:.4g}" for name, value in values.items())
        self.pixel_label.setText(f"pixel ({row}, {col}): {parts} {self.panels.units().label}")

    def _compare(self, run_a, run_b) -> None:
        from .compare_dialog import CompareDialog

        CompareDialog(run_a, run_b, self).show()

    # --- actions -----------------------------------------------------------------------------------------
    def open_sample(self, name: str) -> None:
        if name not in SAMPLES:
            show_error(self, f"There is no built-in example called {name!r}.")
            return
        self._loading(SAMPLES[name].title)
        self.session.open_sample(name)

    def open_path(self, path: str) -> None:
        from .open_flow import open_with_choice

        self._loading(Path(path).name)
        open_with_choice(self, path)

    def _loading(self, what: str) -> None:
        if self.panels.image_shape() is None:  # nothing on screen yet: say what is coming instead of black
            self.panels.set_placeholder(f"Opening {what}…")

    def run_attack(self) -> None:
        if self.session.jobs.attack_running or self.session.scan is None:
            return
        try:
            check_segments(self.session)  # a label file that does not fit costs no attack
            self.session.start_attack()
        except ValueError as err:
            show_error(self, str(err))

    def _remember(self, path: str) -> None:
        recent = [p for p in self.settings.value("recent", [], list) if p != path]
        self.settings.setValue("recent", [path] + recent[:MAX_RECENT - 1])
        menus.refresh_recent(self)

    def recent_files(self) -> list[str]:
        return [p for p in self.settings.value("recent", [], list) if Path(p).exists()]

    # --- drag and drop, closing --------------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        urls = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            self.open_path(urls[0])

    def quit_by_user(self) -> bool:
        """File › Quit: close as the window's own close button does (asking about unsaved runs)."""
        self._user_closing = True
        try:
            return self.close()
        finally:
            self._user_closing = False

    def closeEvent(self, event) -> None:
        jobs = self.session.jobs
        by_user = event.spontaneous() or getattr(self, "_user_closing", False)  # not a program's quit()
        if not self._confirm_close(ask_unsaved=by_user):
            event.ignore()
            return
        if jobs.attack_running:
            jobs.cancel()
        jobs.wait(15000)
        event.accept()

    def _confirm_close(self, ask_unsaved: bool = True) -> bool:
        """Ask before losing work: a running attack, or (when the user closes) runs not saved in a report or
        session."""
        if self.session.jobs.attack_running:
            return confirm(self, "An attack is running. Stop it and close HalluView?")
        if ask_unsaved and self.unsaved_runs:
            count = len(self.unsaved_runs)
            return confirm(self, f"{count} run{'s' if count > 1 else ''} of this session {'are' if count > 1 else 'is'}"
                                 " not saved (File › Save session, or Export › Report). Close HalluView anyway?")
        return True
