"""A word-wrapped label whose minimum height is the height its text needs at its present width.

Qt's own word-wrapped QLabel reports a one-line minimum, so a layout squeezed to its minimum (a short screen, a
splitter) lays the next widget over its second line; this one asks for its lines and so pushes the layout instead.
"""
from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtWidgets import QLabel


class WrappingLabel(QLabel):
    def __init__(self, text: str = "", parent=None):
        super().__init__(text, parent)
        self.setWordWrap(True)
        self._height_asked = -1

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        if self.width() > 0 and self.text():
            hint.setHeight(max(hint.height(), self.heightForWidth(self.width())))
        return hint

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._ask_again_if_the_height_changed()

    def setText(self, text: str) -> None:
        super().setText(text)
        self._ask_again_if_the_height_changed()

    def _ask_again_if_the_height_changed(self) -> None:
        needed = self.minimumSizeHint().height()
        if needed != self._height_asked:
            self._height_asked = needed
            self.updateGeometry()
