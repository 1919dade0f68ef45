"""Small shared helpers for the settings panels: a titled section, labelled rows with plain-words tooltips,
controls that only report finished edits, toggles that show when they are the chosen one, a one-line label that
never widens its panel, and refreshing controls without re-emitting their signals.

Panels own no state: they read ``session.experiment`` in ``refresh()`` and write it with ``session.update``.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import Any

from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QSizePolicy,
    QSpinBox,
    QToolButton,
    QWidget,
)

from ..theme import ACCENT

_SECTION_STYLE = """
QGroupBox { font-size: 8pt; font-weight: 600; letter-spacing: 1px; color: #a8a8a8;
            border: 1px solid #3a3a3a; border-radius: 4px; margin-top: 1.2em; padding-top: 2px; }
QGroupBox::title { subcontrol-origin: margin; left: 8px; padding: 0 3px; }
"""

CHECKED_TEXT, CHECKED_BACKGROUND = "#ffe6b0", "#5c4510"
"""A chosen toggle (the active drawing tool, the current ε preset): light amber on dark amber, in an accent frame."""
_TOGGLE_STYLE = f"""
QToolButton {{ background: #353535; color: #dcdcdc; border: 1px solid #4a4a4a; border-radius: 3px;
              padding: 2px 4px; }}
QToolButton:hover {{ background: #3e3e3e; border-color: #707070; }}
QToolButton:checked {{ background: {CHECKED_BACKGROUND}; color: {CHECKED_TEXT}; border: 1px solid {ACCENT};
                      font-weight: 600; }}
QToolButton:disabled {{ color: #7a7a7a; }}
"""


def style_section(box: QGroupBox, title: str) -> None:
    """Give ``box`` the panel-section look: a small-capitals title in a thin frame."""
    box.setTitle(title.upper())
    box.setStyleSheet(_SECTION_STYLE)  # a style sheet font does not propagate to the children


def section(box: QGroupBox, title: str) -> QFormLayout:
    """Turn ``box`` into a titled panel section (small capitals) and return its form layout."""
    style_section(box, title)
    layout = QFormLayout(box)
    layout.setContentsMargins(8, 6, 8, 8)
    layout.setHorizontalSpacing(10)
    layout.setVerticalSpacing(4)
    layout.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
    layout.setRowWrapPolicy(QFormLayout.DontWrapRows)
    return layout


def add_row(layout: QFormLayout, label: str, field: QWidget | Any, tooltip: str = "") -> QLabel:
    """Add ``label: field`` to ``layout``; the ``tooltip`` (default: the field's own) shows on both. Returns the
    label."""
    text = QLabel(label)
    if isinstance(field, QWidget):
        text.setBuddy(field)
        tooltip = tooltip or field.toolTip()
    if tooltip:
        text.setToolTip(tooltip)
        if isinstance(field, QWidget) and not field.toolTip():
            field.setToolTip(tooltip)
    layout.addRow(text, field)
    return text


def combo(items: Iterable[tuple[str, Any]], tooltip: str = "") -> QComboBox:
    """A combo box of ``(text, data)`` items."""
    box = QComboBox()
    for text, data in items:
        box.addItem(text, data)
    box.setToolTip(tooltip)
    return box


def spin(low: float, high: float, step: float = 1, decimals: int | None = None, suffix: str = "",
         tooltip: str = "") -> QSpinBox | QDoubleSpinBox:
    """An integer spin box (``decimals is None``) or a floating one that reports only finished edits
    (no signal per keystroke: a half-typed number must not rebuild the preview)."""
    box = QSpinBox() if decimals is None else QDoubleSpinBox()
    if decimals is not None:
        box.setDecimals(decimals)
    box.setRange(low, high)
    box.setSingleStep(step)
    box.setSuffix(suffix)
    box.setKeyboardTracking(False)
    box.setToolTip(tooltip)
    return box


def toggle(text: str, tooltip: str = "") -> QToolButton:
    """A checkable button that shows plainly when it is the chosen one (amber fill and frame on the dark theme);
    it grows to share its row with its neighbours."""
    button = QToolButton()
    button.setText(text)
    button.setToolTip(tooltip)
    button.setCheckable(True)
    button.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
    button.setStyleSheet(_TOGGLE_STYLE)
    return button


class ElidedLabel(QLabel):
    """One line of text that never widens its panel: cut with "…" when it does not fit, in full as its tooltip."""

    def __init__(self, text: str = "", tooltip: str = ""):
        super().__init__()
        self._full, self._tip = text, tooltip
        self.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self.set_full_text(text)

    def set_full_text(self, text: str) -> None:
        self._full = text
        self.setToolTip(f"{text}. {self._tip}" if self._tip else text)
        self._elide()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        self.setText(self.fontMetrics().elidedText(self._full, Qt.ElideRight, max(self.width(), 1)))


def check(text: str, tooltip: str = "") -> QCheckBox:
    box = QCheckBox(text)
    box.setToolTip(tooltip)
    return box


@contextlib.contextmanager
def blocked(*widgets: QWidget) -> Iterator[None]:
    """Silence the widgets' signals while the panel copies the session into them (no update loop)."""
    blockers = [QSignalBlocker(w) for w in widgets]
    try:
        yield
    finally:
        for blocker in blockers:
            blocker.unblock()


def select_data(box: QComboBox, data: Any) -> bool:
    """Select the item whose data equals ``data`` (without emitting); False when there is none."""
    index = box.findData(data)
    if index < 0:
        return False
    with blocked(box):
        box.setCurrentIndex(index)
    return True


def set_value(box: QSpinBox | QDoubleSpinBox | QCheckBox, value: Any) -> None:
    """Set a spin box's value or a check box's state without emitting."""
    with blocked(box):
        if isinstance(box, QCheckBox):
            box.setChecked(bool(value))
        else:
            box.setValue(value)


def show_rows(layout: QFormLayout, visible: bool, *fields: QWidget) -> None:
    """Show or hide whole form rows (label and field) by their field widgets."""
    for field in fields:
        layout.setRowVisible(field, visible)
