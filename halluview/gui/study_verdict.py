"""The study's verdict per reconstruction at one ε: how many times the change of noise of the same size the attack
caused, the ΔSSIMs and the clean accuracy, and the sentence; every number from
:func:`halluview.core.study.summary.verdict_table` (this widget formats, it computes nothing)."""
from __future__ import annotations

import math
from typing import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..core.study import summary

COLUMNS = (
    ("reconstruction", "recon", "The reconstruction method."),
    ("cells", "n", "How many attacks finished at this ε (slices × seeds)."),
    ("attack ÷ noise", "ratio", "How many times more the attack changed the image than random noise of the same "
                                "size: ‖f(y+δ) − f(y)‖ of the attack over that of the noise (inside the region when "
                                "one is drawn). Near 1: no worse than noise; large: a worst-case change does much "
                                "more harm."),
    ("ΔSSIM attack", "attack_delta_ssim", "How much the attack lowered the image's similarity (SSIM): 0 is no "
                                          "change."),
    ("ΔSSIM noise", "noise_delta_ssim", "The same for random noise of the same size."),
    ("clean SSIM", "clean_ssim", "How good the reconstruction is without attack, against the reference image "
                                 "(— when the scan has none)."),
    ("in words", "sentence", "The verdict in a sentence."),
)
EPS_TIP = ("Which budget the verdict is for: how much the measurement may be altered, as a percentage of its size "
           "(ε, in % of ‖y‖).")


def cell_text(key: str, value) -> str:
    """A verdict number as the table shows it: ratios with ×, SSIMs to 3 decimals, missing ones as —."""
    if key in ("recon", "sentence"):
        return str(value)
    if key == "n":
        return str(int(value))
    number = float(value)
    if math.isnan(number):
        return "—"
    if key == "ratio":
        return "∞" if math.isinf(number) else f"{number:.1f}×"
    return f"{number:.3f}"


def _swatch(colour: str) -> QIcon:
    pixmap = QPixmap(10, 10)
    pixmap.fill(QColor(colour))
    return QIcon(pixmap)


class VerdictTable(QWidget):
    """A row per reconstruction at the chosen ε (``eps_picker``; by default :func:`summary.default_verdict_eps`)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.rows: list[dict] = []
        self.entries: list[dict] = []
        self._chosen: float | None = None  # the ε the user picked, kept while the study has it
        self._colour: Callable[[str], str] | None = None
        self.eps_picker = QComboBox()
        self.eps_picker.setToolTip(EPS_TIP)
        self.eps_picker.setMinimumContentsLength(8)
        self.eps_picker.activated.connect(self._picked)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        title = QLabel("Verdict at ε =")
        title.setToolTip(EPS_TIP)
        top.addWidget(title)
        top.addWidget(self.eps_picker)
        top.addStretch(1)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(True)
        for column, (label, _, tip) in enumerate(COLUMNS):
            header = QTableWidgetItem(label)
            header.setToolTip(tip)
            self.table.setHorizontalHeaderItem(column, header)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeToContents)
        header.setSectionResizeMode(len(COLUMNS) - 1, QHeaderView.Stretch)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)

    @property
    def eps(self) -> float | None:
        return self.eps_picker.currentData()

    def _picked(self, index: int) -> None:
        self._chosen = self.eps_picker.itemData(index)
        self._fill()

    def show_rows(self, rows: list[dict], colour: Callable[[str], str] | None = None) -> None:
        """The verdict of ``rows`` (the study's table so far) at the chosen ε; ``colour(recon)``: the plot's colour
        of each reconstruction, shown as a swatch beside its name."""
        self.rows, self._colour = rows, colour or self._colour
        values = summary.eps_values(rows)
        keep = self._chosen if self._chosen is not None and any(math.isclose(self._chosen, e) for e in values) \
            else summary.default_verdict_eps(rows)
        self.eps_picker.blockSignals(True)
        self.eps_picker.clear()
        for value in values:
            self.eps_picker.addItem(summary.percent(value), value)
            if keep is not None and math.isclose(value, keep):
                self.eps_picker.setCurrentIndex(self.eps_picker.count() - 1)
        self.eps_picker.blockSignals(False)
        self._fill()

    def _fill(self) -> None:
        eps = self.eps
        self.entries = summary.verdict_table(self.rows, eps) if eps is not None else []
        self.table.setRowCount(len(self.entries))
        for r, entry in enumerate(self.entries):
            for c, (_, key, _) in enumerate(COLUMNS):
                item = QTableWidgetItem(cell_text(key, entry[key]))
                if key not in ("recon", "sentence"):
                    item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                if key == "sentence":
                    item.setToolTip(entry[key])
                if key == "recon" and self._colour is not None:
                    item.setIcon(_swatch(self._colour(entry[key])))
                self.table.setItem(r, c, item)
        self.table.resizeRowsToContents()
