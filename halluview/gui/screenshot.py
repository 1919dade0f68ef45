"""`--screenshot OUT.png [--attack-steps N]`: wait for the first picture (and the attack), save, quit."""
from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication

from .open_flow import first_choice


class ScreenshotFlow(QObject):
    def __init__(self, window, out_path: str, attack_steps: int | None, timeout_ms: int):
        super().__init__(window)
        self.window, self.out_path, self.attack_steps = window, out_path, attack_steps
        self.timeout_ms, self.exit_code, self._attacked = timeout_ms, 1, False

    def start(self) -> None:
        self.window.choose_content = self._choose_without_asking  # nobody is there to answer a dialog
        self.window.session.previewReady.connect(self._on_preview)
        self.window.session.errorOccurred.connect(self._on_error)
        QTimer.singleShot(self.timeout_ms, self._on_timeout)

    def _on_preview(self, _problem) -> None:
        if self._attacked:
            return
        if self.attack_steps:
            self._attacked = True
            self.window.session.update(optimizer={"steps": self.attack_steps, "restarts": 1})
            self.window.attackIdle.connect(lambda: QTimer.singleShot(300, self._save))
            QTimer.singleShot(100, self.window.run_attack)
        else:
            QTimer.singleShot(500, self._save)

    @staticmethod
    def _choose_without_asking(_window, path: str, choices: list) -> dict:
        choice, label = first_choice(path, choices)
        if label is not None:
            print(f"halluview: {Path(path).name} holds {len(choices)} scans; opened the first, {label}",
                  file=sys.stderr)
        return choice

    def _save(self) -> None:
        QApplication.processEvents()
        ok = self.window.grab().save(self.out_path)
        self.exit_code = 0 if ok else 1
        if not ok:
            print(f"halluview: could not write {self.out_path}", file=sys.stderr)
        self.window.session.jobs.wait(10000)
        QApplication.quit()

    def _on_error(self, message: str, _details: str) -> None:
        print(f"halluview: {message}", file=sys.stderr)
        self.exit_code = 1
        QApplication.quit()

    def _on_timeout(self) -> None:
        print("halluview: the screenshot timed out", file=sys.stderr)
        QApplication.quit()
