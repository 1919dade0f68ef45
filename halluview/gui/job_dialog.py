"""What the study and analysis windows share: a non-modal window over the main one whose background job stops at
its next step when cancelled, and is stopped (and waited for) when either window closes."""
from __future__ import annotations

import threading

from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QDialog, QPushButton

STOP_WAIT_MS = 60_000  # closing waits this long at most for the running step to end


def button(text: str, slot, tip: str) -> QPushButton:
    widget = QPushButton(text)
    widget.setToolTip(tip)
    widget.clicked.connect(slot)
    return widget


class JobDialog(QDialog):
    """Subclasses set ``jobs`` (a JobRunner), call :meth:`_say` and :meth:`_update_buttons`, and word
    :attr:`STOPPING` (shown when the user cancels)."""

    STOPPING = "Stopping at the next step…"

    def __init__(self, main_window):
        super().__init__(main_window)
        self.main_window = main_window
        self.setModal(False)
        self.setSizeGripEnabled(True)
        self._stop = threading.Event()
        self._running = False
        main_window.installEventFilter(self)

    def cancel(self) -> None:
        """Stop at the next step of the running job."""
        if self._running and not self._stop.is_set():
            self._stop.set()
            self._say(self.STOPPING)
            self._update_buttons()

    def stop_and_wait(self) -> None:
        """Cancel and wait for the worker thread to end (closing this window or the main one)."""
        if self._running:
            self.cancel()
            self.jobs.wait(STOP_WAIT_MS)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self.stop_and_wait()
        super().closeEvent(event)

    def reject(self) -> None:  # Esc closes the window: it stops the job as closing does
        self.stop_and_wait()
        super().reject()

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt's name
        if watched is self.main_window and event.type() == QEvent.Close:
            self.stop_and_wait()  # the main window is closing: no job outlives it
        return False
