"""Presentation mode for conference booths (F11): full screen, larger fonts, large images (the settings panels
hidden) and an auto-play tour of the built-in example — open, draw a region, run, show the hallucination appear,
repeat. Any key stops the tour. Leaving the mode gives the user's session back: the scan, slice, settings and
regions, window and runs they had (the tour's runs are dropped; one still going is stopped)."""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication

from .demo import DEMO_SAMPLE, demo_region, demo_settings

FONT_SCALE = 1.35
PAUSE_MS = 2500


class PresentationTour(QObject):
    """The auto-play loop. It drives the window through its public actions, exactly as a user would."""

    def __init__(self, window):
        super().__init__(window)
        self.window, self.active = window, False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._next)
        self._stage = 0

    def start(self) -> None:
        self.active, self._stage = True, 0
        QApplication.instance().installEventFilter(self)
        self.window.session.runEnded.connect(self._on_run_ended)
        self._timer.start(300)

    def stop(self) -> None:
        if not self.active:
            return
        self.active = False
        self._timer.stop()
        QApplication.instance().removeEventFilter(self)
        self.window.session.runEnded.disconnect(self._on_run_ended)
        self.window.statusBar().showMessage("Demo stopped — the app is yours.", 4000)

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.KeyPress and event.key() != 0x01000035:  # F11 toggles the mode itself
            self.stop()
        return False

    def _say(self, text: str) -> None:
        self.window.statusBar().showMessage(text)

    def _next(self) -> None:
        if not self.active:
            return
        session = self.window.session
        if self._stage == 0:
            self._say("A brain scan, reconstructed by a neural network from 4× undersampled MRI data…")
            session.open_sample(DEMO_SAMPLE)
            self._advance(PAUSE_MS + 1500)
        elif self._stage == 1:
            self._say("We mark a region where a tiny change would matter…")
            demo_settings(session)  # after the scan opened: opening a scan resets scan-dependent settings
            session.regions.clear()
            demo_region(session)
            self._advance(PAUSE_MS)
        elif self._stage == 2:
            self._say("…and search for a perturbation of 2 % of the data that makes a lesion appear there.")
            self.window.run_attack()

    def _advance(self, delay_ms: int) -> None:
        self._stage += 1
        self._timer.start(delay_ms)

    def _on_run_ended(self, record) -> None:
        if self.active:
            self._say("The network invented a lesion that is not in the data. Again in a moment…")
            self._stage = 0
            self._timer.start(PAUSE_MS * 2)


def toggle_presentation(window) -> None:
    """F11: enter presentation mode (full screen, larger type, the auto-play tour) or leave it."""
    app = QApplication.instance()
    if getattr(window, "presenting", False):
        window.presenting = False
        window._tour.stop()
        window.showNormal()
        app.setFont(window._normal_font)
        window.show_side_panels(window._docks_were_shown)
        window.session.restore_snapshot(window._saved_session)  # the tour's runs go with it
        return
    window.presenting = True
    window._saved_session = window.session.snapshot()
    window._docks_were_shown = window.actions_by_name["side_panels"].isChecked()
    window.show_side_panels(False)
    window._normal_font = QFont(app.font())
    font = QFont(app.font())
    font.setPointSizeF(font.pointSizeF() * FONT_SCALE)
    app.setFont(font)
    window.showFullScreen()
    window._tour = PresentationTour(window)
    window._tour.start()
