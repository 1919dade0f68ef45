"""The dark theme: a Fusion palette and matching pyqtgraph defaults."""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication

ACCENT = "#ffb000"  # the region outline and highlights, on every panel
BACKGROUND = "#1e1e1e"


def apply_dark_theme(app: QApplication, font_scale: float = 1.0) -> None:
    app.setStyle("Fusion")
    palette = QPalette()
    colours = {
        QPalette.Window: "#2b2b2b", QPalette.WindowText: "#dcdcdc", QPalette.Base: "#232323",
        QPalette.AlternateBase: "#2f2f2f", QPalette.ToolTipBase: "#3a3a3a", QPalette.ToolTipText: "#eeeeee",
        QPalette.Text: "#dcdcdc", QPalette.Button: "#353535", QPalette.ButtonText: "#dcdcdc",
        QPalette.BrightText: "#ff5050", QPalette.Highlight: "#3d7bd9", QPalette.HighlightedText: "#ffffff",
        QPalette.PlaceholderText: "#8a8a8a", QPalette.Link: "#6fa8ff",
    }
    for role, colour in colours.items():
        palette.setColor(role, QColor(colour))
    for role in (QPalette.Text, QPalette.ButtonText, QPalette.WindowText):
        palette.setColor(QPalette.Disabled, role, QColor("#7a7a7a"))
    app.setPalette(palette)
    font = QFont(app.font())
    font.setPointSizeF(max(font.pointSizeF(), 9.0) * font_scale)
    app.setFont(font)
    pg.setConfigOptions(background=BACKGROUND, foreground="#cfcfcf", imageAxisOrder="row-major", antialias=True)
