"""Two runs side by side: their perturbed reconstructions and differences on one shared scale, their numbers and
the settings that differ (:func:`halluview.core.compare.compare_runs`)."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..core.compare import RunComparison, compare_runs, differing_settings, shared_difference_limit
from ..core.display import grey_window
from ..core.figure import units_of
from .colormaps import ACCENT, BACKGROUND, PANEL_BACKGROUND, TITLE_COLOUR, lookup_table
from .panel_viewbox import mask_outline


def _number(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.4g}"


def _setting(value) -> str:
    return "—" if value is None else str(value)


def _table(headers: list[str], rows: list[list[str]]) -> QTableWidget:
    table = QTableWidget(len(rows), len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.setEditTriggers(QAbstractItemView.NoEditTriggers)
    table.verticalHeader().hide()
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            item = QTableWidgetItem(text)
            if c >= len(headers) - 2:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            table.setItem(r, c, item)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)  # the long labels take what is left
    return table


class CompareDialog(QDialog):
    """Run A and run B: perturbed (top) and difference (bottom) in linked views, one grey window and one
    symmetric difference scale for both; below, the metrics side by side and the settings that differ.

    Attributes for tests and callers: ``images`` {("perturbed" | "difference", 0 | 1): ImageItem},
    ``difference_limit`` (working units), ``metrics_table``, ``settings_table``, ``comparison`` (None when a
    run has no result).
    """

    def __init__(self, run_a, run_b, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Compare runs")
        self.runs = (run_a, run_b)
        finished = all(getattr(r, "result", None) is not None for r in self.runs)
        self.comparison: RunComparison | None = compare_runs(run_a, run_b) if finished else None
        differences = [r.result.perturbed - r.result.clean for r in self.runs if r.result is not None]
        self.difference_limit = shared_difference_limit(*differences) if differences else 1.0
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self._image_grid())
        splitter.addWidget(self._tables())
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)
        self.resize(1100, 860)  # fits a 1080-px screen

    # --- images ------------------------------------------------------------------------------------------
    def _image_grid(self) -> QWidget:
        graphics = pg.GraphicsLayoutWidget()
        graphics.setBackground(PANEL_BACKGROUND)
        self.images: dict[tuple[str, int], pg.ImageItem] = {}
        results = [r.result for r in self.runs]
        shown = next((r for r in results if r is not None), None)
        levels = grey_window(shown.clean) if shown is not None else (0.0, 1.0)
        first = None
        for row, kind in enumerate(("perturbed", "difference")):
            for column, record in enumerate(self.runs):
                title = f"{'AB'[column]}: {kind}" + (f" · {record.label}" if row == 0 else "")
                view = graphics.addViewBox(row=2 * row + 1, col=column, lockAspect=True, invertY=True)
                graphics.addLabel(title, row=2 * row, col=column, color=TITLE_COLOUR, size="9pt")
                if first is None:
                    first = view
                else:
                    view.setXLink(first)
                    view.setYLink(first)
                image = pg.ImageItem(axisOrder="row-major")
                view.addItem(image)
                self.images[(kind, column)] = image
                self._show(image, kind, record, levels)
                self._outline(view, record)
        if first is not None:
            first.autoRange(padding=0.02)  # the linked views follow
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(graphics, 1)
        layout.addWidget(self._scale_label())
        box.setStyleSheet(f"background-color: {BACKGROUND};")
        return box

    def _show(self, image: pg.ImageItem, kind: str, record, levels: tuple[float, float]) -> None:
        result = record.result
        if result is None:
            return
        if kind == "perturbed":
            image.setImage(result.perturbed, autoLevels=False, levels=levels)
        else:
            limit = self.difference_limit
            image.setImage(result.perturbed - result.clean, autoLevels=False, levels=(-limit, limit),
                           lut=lookup_table("diverging"))

    @staticmethod
    def _outline(view: pg.ViewBox, record) -> None:
        region = getattr(record, "region", None)
        if region is not None and np.any(region):
            x, y = mask_outline(region)
            view.addItem(pg.PlotCurveItem(x, y, connect="pairs", pen=pg.mkPen(ACCENT, width=1.5)),
                         ignoreBounds=True)

    def _scale_label(self) -> QLabel:
        units = units_of(self.runs[0].experiment)
        limit = units.difference_to_scan(self.difference_limit)
        label = QLabel(f"Both differences on one scale: blue −{limit:.3g} … grey 0 … red +{limit:.3g} {units.label}"
                       " (perturbed − clean); both perturbed images in the same grey window.")
        label.setStyleSheet(f"color: {TITLE_COLOUR}; padding: 2px;")
        return label

    # --- numbers -----------------------------------------------------------------------------------------
    def _tables(self) -> QWidget:
        box = QWidget()
        layout = QHBoxLayout(box)
        if self.comparison is not None:
            rows = [[m.section, m.name, _number(m.a), _number(m.b)] for m in self.comparison.metrics]
            settings = self.comparison.settings
            verdicts = self.comparison.verdicts
        else:
            rows = [["—", "a run has not finished: no numbers to compare", "—", "—"]]
            settings = differing_settings(self.runs[0].experiment, self.runs[1].experiment)
            verdicts = (None, None)
        self.metrics_table = _table(["where, against", "metric", "A", "B"], rows)
        self.settings_table = _table(["setting that differs", "A", "B"],
                                     [[d.key, _setting(d.a), _setting(d.b)] for d in settings]
                                     or [["(none: the same settings)", "", ""]])
        column = QVBoxLayout()
        for letter, verdict in zip("AB", verdicts):
            text = QLabel(f"{letter}: {verdict or 'no verdict'}")
            text.setWordWrap(True)
            column.addWidget(text)
        column.addWidget(self.settings_table, 1)
        layout.addWidget(self.metrics_table, 3)
        layout.addLayout(column, 2)
        return box
