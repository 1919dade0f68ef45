"""Errors in plain words, with the technical details one click away; the app keeps running."""
from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QFontDatabase, QGuiApplication, QTextOption
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QStyle,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

LARGEST = QSize(1920, 1000)  # what fits on a 1920×1080 screen beside the task bar and the title bar
TEXT_WIDTH_PX = 560  # the message's width: a comfortable line, wrapped


class ErrorDialog(QDialog):
    """An error: the message wrapped (anywhere, if a path or a name is longer than a line) and the details
    (a traceback) behind a button, each scrolling inside its own box, so the dialog fits the screen whatever
    their length."""

    def __init__(self, parent: QWidget | None, message: str, details: str = "", title: str = "HalluView"):
        super().__init__(parent)
        self.message, self.details = message, details
        self.setWindowTitle(title)
        self.setSizeGripEnabled(True)
        limit = _screen_limit(parent)
        width = min(TEXT_WIDTH_PX, limit.width() - 120)
        icon = QLabel()
        icon.setPixmap(self.style().standardIcon(QStyle.SP_MessageBoxWarning).pixmap(32, 32))
        icon.setAlignment(Qt.AlignTop)
        self.text = _text_box(message, width, limit.height() // 3, framed=False)
        self.details_box = _text_box(details, width, limit.height() // 2, framed=True)
        self.details_box.setVisible(False)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok)
        buttons.accepted.connect(self.accept)
        self.details_button = QPushButton("Show details…")
        self.details_button.setCheckable(True)
        self.details_button.toggled.connect(self._show_details)
        if details:
            buttons.addButton(self.details_button, QDialogButtonBox.ActionRole)
        top = QHBoxLayout()
        top.addWidget(icon)
        top.addWidget(self.text, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.details_box)
        layout.addWidget(buttons)
        self.setMaximumSize(limit)

    def _show_details(self, shown: bool) -> None:
        self.details_box.setVisible(shown)
        self.details_button.setText("Hide details" if shown else "Show details…")
        self.adjustSize()


def _screen_limit(parent: QWidget | None) -> QSize:
    """The largest the dialog may be: 90 % of the screen it opens on, and never more than :data:`LARGEST`."""
    screen = parent.screen() if parent is not None else QGuiApplication.primaryScreen()
    available = screen.availableGeometry().size() * 0.9 if screen is not None else LARGEST
    return available.boundedTo(LARGEST)


def _text_box(text: str, width: int, max_height: int, framed: bool) -> QTextEdit:
    """Read-only text ``width`` px wide, as tall as it needs up to ``max_height`` px, then scrolling. The message
    reads as a label (no frame, wrapped at words, anywhere in a word longer than the line); the details keep
    their lines (a traceback's layout) in a fixed-width font and scroll sideways."""
    box = QTextEdit()
    box.setReadOnly(True)
    box.setPlainText(text)
    box.setHorizontalScrollBarPolicy(Qt.ScrollBarAsNeeded if framed else Qt.ScrollBarAlwaysOff)
    if framed:
        box.setFont(QFontDatabase.systemFont(QFontDatabase.FixedFont))
        box.setLineWrapMode(QTextEdit.NoWrap)
    else:
        box.setFrameShape(QFrame.NoFrame)
        box.viewport().setAutoFillBackground(False)
        box.setWordWrapMode(QTextOption.WrapAtWordBoundaryOrAnywhere)
        box.document().setTextWidth(-1)  # unwrapped, to measure its longest line
        width = min(width, int(box.document().idealWidth()) + 1)  # a short message makes a small dialog
        box.setLineWrapMode(QTextEdit.FixedPixelWidth)
        box.setLineWrapColumnOrWidth(width)
    box.document().setTextWidth(-1 if framed else width)
    chrome = 2 * box.frameWidth() + 2 * int(box.document().documentMargin())
    scrollbar = box.style().pixelMetric(QStyle.PM_ScrollBarExtent)
    height = int(box.document().size().height()) + chrome + (scrollbar if framed else 0)
    box.setFixedWidth(width + chrome + scrollbar)
    box.setFixedHeight(max(min(height, max_height), box.fontMetrics().lineSpacing() + chrome))
    return box


def show_error(parent: QWidget | None, message: str, details: str = "", title: str = "HalluView") -> ErrorDialog:
    """Show ``message`` (and ``details`` behind a button) without blocking: the window keeps painting."""
    dialog = ErrorDialog(parent, message, details, title)
    dialog.setAttribute(Qt.WA_DeleteOnClose)
    dialog.open()
    return dialog


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
