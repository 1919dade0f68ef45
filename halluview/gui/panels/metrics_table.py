"""The run's numbers as a table: SSIM, PSNR, MSE, NMSE and (once the run ends) VIF, segment RMSE, RFS and the
change's high-frequency share, against the clean and the reference images, in and outside the region and for noise
of the same size; updated in place, each cell with its exact value as tooltip."""
from __future__ import annotations

import math

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QWidget

from .clinical_words import AT_THE_END, CLINICAL_ROWS, HF_SHARE, WHOLE, WHOLE_TIP

ROWS = (("ssim", "SSIM", "Structural similarity: 1 means the images look the same; lower means more changed."),
        ("psnr", "PSNR (dB)", "Peak signal-to-noise ratio: higher means closer; ∞ means identical."),
        ("mse", "MSE", "Mean squared difference per pixel (image units squared)."),
        ("nmse", "NMSE", "Squared difference relative to the image's own energy."),
        *((key, label, f"{tip} {AT_THE_END}") for key, label, tip in (*CLINICAL_ROWS, HF_SHARE)))
HF_ROW = len(ROWS) - 1
ROW_HEIGHT = 20
COLUMNS = (("vs clean", "The attacked reconstruction compared with the un-attacked one."),
           ("vs reference", "The attacked reconstruction compared with the reference (ground-truth) image."),
           ("in region", "Inside the drawn region only: attacked vs un-attacked reconstruction."),
           ("outside region", "Outside the drawn region only: attacked vs un-attacked reconstruction."),
           ("noise baseline", "Random noise of exactly the attack's size, for comparison: if the attack changes "
                              "far more than this, the model is unusually fragile there. Shown when the run ends."))
NOISE_IN_REGION = "noise, in region"
"""The noise column's name when a region was drawn (the noise judged where the attack aimed)."""
EMPTY, PENDING = "—", "…"
WIDEST_NUMBER = "0.00000 *"
"""The widest text a table cell shows (a whole-image number in the in-region noise column): no column is narrower."""


def format_metric(key: str, value: float | None) -> str:
    """SSIM with 4 decimals, PSNR with 2, MSE / NMSE with 3 significant digits; ∞ for infinities."""
    if value is None:
        return EMPTY
    value = float(value)
    if math.isnan(value):
        return "n/a"
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    if key in ("ssim", "vif", "rfs"):
        return f"{value:.4f}"
    if key == "hf_share":
        return f"{value:.2f}"
    if key == "psnr":
        return f"{value:.2f}"
    if value == 0:
        return "0"
    if abs(value) < 1e-3:
        return f"{value:.2e}"
    return f"{value:#.3g}".rstrip(".")  # keep trailing zeros: 0.00200 has three significant digits


def readable_width(table: QTableWidget) -> int:
    """The narrowest table whose names and numbers show whole: the comparisons stretch to equal widths, each as wide
    as the widest of their names or numbers; the noise column fits its own (its name changes when a run ends)."""
    number = table.fontMetrics().horizontalAdvance(WIDEST_NUMBER) + 12
    header = table.horizontalHeader()
    named = [header.sectionSizeHint(col) for col in range(len(COLUMNS))]
    named[-1] += max(0, header.fontMetrics().horizontalAdvance(NOISE_IN_REGION)
                     - header.fontMetrics().horizontalAdvance(COLUMNS[-1][0]))
    columns = (len(COLUMNS) - 1) * max(number, *named[:-1]) + max(number, named[-1])
    return table.verticalHeader().sizeHint().width() + columns + 2 * table.frameWidth()


class MetricsTable(QTableWidget):
    """The table of :data:`ROWS` × :data:`COLUMNS`, never narrower than its names and numbers need."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(len(ROWS), len(COLUMNS), parent)
        self.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.NoSelection)
        self.setFocusPolicy(Qt.NoFocus)
        self.setAlternatingRowColors(True)
        for col, (text, tip) in enumerate(COLUMNS):
            header = QTableWidgetItem(text)
            header.setToolTip(tip)
            self.setHorizontalHeaderItem(col, header)
        for row, (_, text, tip) in enumerate(ROWS):
            header = QTableWidgetItem(text)
            header.setToolTip(tip)
            self.setVerticalHeaderItem(row, header)
            for col in range(len(COLUMNS)):
                item = QTableWidgetItem(EMPTY)
                item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                self.setItem(row, col, item)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        self.horizontalHeader().setSectionResizeMode(len(COLUMNS) - 1, QHeaderView.ResizeToContents)
        self.verticalHeader().setSectionResizeMode(QHeaderView.Fixed)
        self.verticalHeader().setDefaultSectionSize(ROW_HEIGHT)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setFixedHeight(self.horizontalHeader().sizeHint().height() + ROW_HEIGHT * len(ROWS) + 4)
        self.setMinimumWidth(readable_width(self))

    def clear_cells(self) -> None:
        """Every number back to "—", and the clinical rows' tooltips without their segments."""
        for row in range(len(ROWS)):
            for col in range(len(COLUMNS)):
                self.set_number(row, col, None)
        self.describe_segments("")

    def fill(self, metrics: dict, noise: dict | None) -> None:
        """One step's or the result's metrics, in place; the noise column "…" until the noise is there."""
        clean, reference = metrics.get("vs_clean", {}), metrics.get("vs_reference")
        for row, (key, _, _) in enumerate(ROWS):
            self.set_number(row, 0, clean.get(key), key)
            self.set_number(row, 1, None if reference is None else reference.get(key), key)
            self.set_number(row, 2, clean.get(key + "_in"), key)
            self.set_number(row, 3, clean.get(key + "_out"), key)
            if noise is None:
                self.item(row, 4).setText(PENDING)
            else:  # with a region, noise is judged where the attack aimed: set against the "in region" column
                noise_clean = noise.get("vs_clean", {})
                suffix = "_in" if key + "_in" in noise_clean else ""
                whole = "ssim_in" in noise_clean and not suffix
                self.set_number(row, 4, noise_clean.get(key + suffix), key, whole=whole)
        if noise is not None:
            in_region = "ssim_in" in noise.get("vs_clean", {})
            self.horizontalHeaderItem(4).setText(NOISE_IN_REGION if in_region else COLUMNS[4][0])

    def fill_change_share(self, norms: dict, in_region: bool) -> None:
        """The high-frequency share of the attack's change (vs clean) and of the noise's (noise column)."""
        self.set_number(HF_ROW, 0, norms.get("change_hf_share"), "hf_share")
        self.set_number(HF_ROW, 4, norms.get("noise_change_hf_share_mean"), "hf_share", whole=in_region)

    def describe_segments(self, words: str) -> None:
        """The clinical rows' tooltips say which segments their numbers ran over."""
        for row, (key, _, tip) in enumerate(ROWS):
            if key in ("srmse_mean", "srmse_max", "rfs"):
                self.verticalHeaderItem(row).setToolTip(f"{tip} {words}".strip())

    def set_number(self, row: int, col: int, value: float | None, key: str = "", whole: bool = False) -> None:
        """A number as the table formats it; ``whole``: a whole-image number in the in-region noise column."""
        item = self.item(row, col)
        whole = whole and value is not None
        item.setText(format_metric(key, value) + (f" {WHOLE}" if whole else ""))
        exact = "" if value is None else repr(float(value))
        item.setToolTip(f"{WHOLE_TIP} {exact}" if whole else exact)
