"""The difference panel's colour bar: its colour table with the range it stands for, in the scan's units."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

from .colormaps import TITLE_COLOUR

BAR_WIDTH = 12


def format_limit(value: float) -> str:
    """A colour-bar label: 3 significant digits, no exponent for ordinary sizes."""
    if value == 0:
        return "0"
    if 1e-3 <= abs(value) < 1e5:
        return f"{value:.3g}"
    return f"{value:.2e}"


class ColourBar(QWidget):
    """A vertical bar of ``lut`` (N, 3) from ``low`` (bottom) to ``high`` (top), labelled with ``unit``."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._lut: np.ndarray | None = None
        self._low, self._high, self._unit = -1.0, 1.0, ""
        self._active = True
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Expanding)
        font = QFont(self.font())
        font.setPointSizeF(max(font.pointSizeF() * 0.85, 7.0))
        self.setFont(font)

    def sizeHint(self) -> QSize:
        return QSize(BAR_WIDTH + self.fontMetrics().horizontalAdvance("−0.000e-00 HU") + 8, 120)

    def set_range(self, lut: np.ndarray, low: float, high: float, unit: str) -> None:
        """Show ``lut`` over [low, high] in ``unit`` (the labels read low, the middle and high)."""
        self._lut, self._low, self._high, self._unit = np.ascontiguousarray(lut[::-1], np.uint8), low, high, unit
        self.setToolTip(f"Colours of the difference panel: {format_limit(low)} to {format_limit(high)} {unit}. "
                        "The range follows the change as the attack grows it; it never shrinks during a run.")
        self.update()

    def set_active(self, active: bool) -> None:
        """Blank while there is nothing to read (its space stays, so the image panels keep their size)."""
        if active != self._active:
            self._active = active
            self.update()

    def is_active(self) -> bool:
        return self._active

    def labels(self) -> tuple[str, str, str]:
        """Top, middle and bottom labels as painted."""
        middle = (self._low + self._high) / 2
        unit = f" {self._unit}" if self._unit else ""
        return (f"{'+' if self._low < 0 else ''}{format_limit(self._high)}{unit}", format_limit(middle),
                f"{format_limit(self._low)}{unit}".replace("-", "−"))

    def paintEvent(self, event) -> None:
        if self._lut is None or not self._active:
            return
        painter = QPainter(self)
        margin = self.fontMetrics().height() // 2 + 1
        bar = QRectF(0, margin, BAR_WIDTH, max(self.height() - 2 * margin, 1))
        lut = np.ascontiguousarray(self._lut[:, None, :].repeat(2, axis=1))
        image = QImage(lut.data, 2, len(self._lut), 6, QImage.Format.Format_RGB888)
        painter.drawImage(bar, image)
        painter.setPen(QColor(TITLE_COLOUR))
        top, middle, bottom = self.labels()
        x, height = BAR_WIDTH + 4, self.fontMetrics().height()
        centre = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        for text, y in ((top, bar.top()), (middle, bar.center().y()), (bottom, bar.bottom())):
            painter.drawText(QRectF(x, y - height / 2, self.width() - x, height), centre, text)
        painter.end()
