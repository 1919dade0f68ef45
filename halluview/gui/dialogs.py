"""Errors in plain words, with the technical details one click away; the app keeps running."""
from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget


def show_error(parent: QWidget | None, message: str, details: str = "", title: str = "HalluView") -> None:
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Warning)
    box.setWindowTitle(title)
    box.setText(message)
    if details:
        box.setDetailedText(details)
    box.setStandardButtons(QMessageBox.Ok)
    box.open()  # non-blocking: the window keeps painting while the dialog shows


def confirm(parent: QWidget | None, question: str, title: str = "HalluView") -> bool:
    answer = QMessageBox.question(parent, title, question, QMessageBox.Yes | QMessageBox.No, QMessageBox.No)
    return answer == QMessageBox.Yes


SHORTCUTS = [
    ("Ctrl+O", "Open a scan (file or folder)"),
    ("Ctrl+R", "Run the attack"),
    ("Space", "Pause / resume the attack"),
    ("Esc", "Cancel the attack"),
    ("Ctrl+Z / Ctrl+Shift+Z", "Undo / redo region edits"),
    ("Delete", "Delete the selected region"),
    ("R, E, P, B, L", "Draw: rectangle, ellipse, polygon, brush, lesion"),
    ("N", "Navigate (pan / zoom) instead of drawing"),
    ("Up / Down, mouse wheel", "Previous / next slice"),
    ("Right-drag", "Window / level"),
    ("F11", "Presentation mode (full screen, auto-play demo; any key stops it)"),
    ("Ctrl+E", "Export the shown run as a figure (PNG, SVG or PDF)"),
    ("Ctrl+S", "Save the session"),
]


def show_shortcuts(parent: QWidget | None) -> None:
    rows = "".join(f"<tr><td><b>{keys}</b></td><td>&nbsp;&nbsp;{what}</td></tr>" for keys, what in SHORTCUTS)
    QMessageBox.information(parent, "Keyboard shortcuts", f"<table>{rows}</table>")
