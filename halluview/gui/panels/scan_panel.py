"""SCAN: what is loaded (file, series, modality, size, spacing), which slice, and the display window."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QSlider, QWidget

from ...core.geometry import geometry, geometry_words, working_shape
from ...core.scan import Scan
from ..presets import ct_windows, presets_for
from ..session import Session
from . import form

MAX_CHARS = 28  # what fits the panel's value column

AUTO, FILE_DEFAULT = "auto", "file"
WORKING_SIZES = (384, 256, 128)  # the longer side, offered when the slice is larger


def _describe(scan: Scan | None) -> dict[str, str]:
    """The text of the information rows."""
    if scan is None:
        return {"file": "no scan loaded", "series": "—", "modality": "—", "size": "—", "spacing": "—"}
    meta = scan.meta
    series = meta.get("SeriesDescription") or meta.get("description") or meta.get("choice") or "—"
    shape = tuple(scan.volume.shape)
    size = f"{shape[-1]} × {shape[-2]} px, {shape[0]} slice{'s' if shape[0] != 1 else ''}"
    spacing = " × ".join(f"{s:.3g}" for s in scan.spacing_mm) + " mm"
    return {"file": scan.name or "—", "series": str(series), "modality": f"{scan.modality} ({scan.units})",
            "size": size, "spacing": spacing}


class ScanPanel(QGroupBox):
    """The loaded scan, the slice slider and the window / level presets.

    Signals
    -------
    presetChosen(float, float) : window width and level (centre), in the scan's units, for the image views.
    autoWindowRequested() : the user chose "Auto": the views fit the window to the image.
    """

    presetChosen = Signal(float, float)
    autoWindowRequested = Signal()

    def __init__(self, session: Session, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        layout = form.section(self, "Scan")
        self.info: dict[str, QLabel] = {}
        rows = {"file": ("File", "The file (or built-in example) the images come from."),
                "series": ("Series", "The description the scanner gave this series."),
                "modality": ("Modality", "The kind of scan, and the unit of its pixel values."),
                "size": ("Size", "Image width × height in pixels, and the number of slices."),
                "spacing": ("Spacing", "Distance between neighbouring pixels: slice × row × column, in mm.")}
        for key, (label, tip) in rows.items():
            self.info[key] = QLabel()
            self.info[key].setTextInteractionFlags(Qt.TextSelectableByMouse)
            self.info[key].setWordWrap(True)
            form.add_row(layout, label, self.info[key], tip)

        slice_tip = "Which slice of the scan to show and attack."
        self.slice_slider = QSlider(Qt.Horizontal)
        self.slice_slider.setTracking(False)  # load the slice when the handle is released, not on every pixel
        self.slice_spin = form.spin(0, 0, tooltip=slice_tip)
        self.slice_spin.setMinimumWidth(64)
        row = QWidget()
        box = QHBoxLayout(row)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.slice_slider, 1)
        box.addWidget(self.slice_spin)
        form.add_row(layout, "Slice", row, slice_tip)
        self.slice_slider.setToolTip(slice_tip)

        self.working = form.combo([], "Reconstruct and attack the slice at its own size (the default: every number "
                                      "is about your scan), or smaller for speed. A smaller size is a choice that "
                                      "every report records, with both sizes and pixel spacings.")
        form.add_row(layout, "Attack at", self.working, self.working.toolTip())
        self.geometry = QLabel()
        self.geometry.setWordWrap(True)
        form.add_row(layout, "", self.geometry, "The size and pixel spacing the attack runs at.")
        self.working.activated.connect(self._working_chosen)
        session.settingsChanged.connect(self._show_working)

        self.window = form.combo([], "How grey values map to brightness. CT presets are the usual clinical "
                                     "windows (W = width, L = level, in Hounsfield units).")
        form.add_row(layout, "Window", self.window, self.window.toolTip())

        self.slice_slider.valueChanged.connect(self.session.set_slice)
        self.slice_slider.sliderMoved.connect(lambda v: form.set_value(self.slice_spin, v))
        self.slice_spin.valueChanged.connect(self.session.set_slice)
        self.window.activated.connect(self._window_chosen)
        session.scanChanged.connect(self.refresh)
        session.sliceChanged.connect(self._show_slice)
        session.windowChanged.connect(self._show_window)
        self.refresh()

    # --- session -> controls -------------------------------------------------------------------------
    def refresh(self) -> None:
        """Copy the session's scan into the controls (emits nothing)."""
        scan = self.session.scan
        for key, text in _describe(scan).items():  # long values (UIDs, paths) are shortened, in full as tooltip
            shown = text if len(text) <= MAX_CHARS else text[:MAX_CHARS - 1] + "…"
            self.info[key].setText(shown)
            self.info[key].setToolTip(text if shown != text else "")
        last = max(scan.n_slices - 1, 0) if scan is not None else 0
        with form.blocked(self.slice_slider, self.slice_spin, self.window):
            self.slice_slider.setRange(0, last)
            self.slice_spin.setRange(0, last)
            self.window.clear()
            self.window.addItem("Auto (fit the image)", AUTO)
            if scan is not None and scan.window is not None:
                centre, width = scan.window
                self.window.addItem(f"File default  (W {width:g}, L {centre:g})", FILE_DEFAULT)
            presets = presets_for(scan)
            for preset in presets:
                self.window.addItem(preset.label, preset)
                self.window.setItemData(self.window.count() - 1, f"Source: {ct_windows().source}",
                                        Qt.ToolTipRole)
        for widget in (self.slice_slider, self.slice_spin):
            widget.setEnabled(last > 0)
        self.window.setEnabled(scan is not None)
        self._show_working()
        self._show_slice(self.session.slice_index)
        self._show_window(getattr(self.session, "window", None))

    def _show_working(self) -> None:
        """The working-size choices for this scan (its own size first) and the geometry the attack runs at."""
        scan, experiment = self.session.scan, self.session.experiment
        with form.blocked(self.working):
            self.working.clear()
            if scan is None:
                self.working.setEnabled(False)
                self.geometry.setText("")
                return
            rows, cols = scan.volume.shape[-2:]
            self.working.addItem(f"Its own size ({cols} × {rows} px)", None)
            for size in (s for s in WORKING_SIZES if s < max(rows, cols)):
                height, width = working_shape((rows, cols), size)
                self.working.addItem(f"{width} × {height} px (faster, resized)", size)
            chosen = experiment.source.image_size
            index = self.working.findData(chosen) if chosen is not None else 0
            if index < 0:
                height, width = working_shape((rows, cols), chosen)
                self.working.addItem(f"{width} × {height} px (resized)", chosen)
                index = self.working.count() - 1
            self.working.setCurrentIndex(index)
            self.working.setEnabled(self.working.count() > 1 and scan.kspace is None)
        record = geometry((rows, cols), scan.spacing_mm[1:], chosen, experiment.operator.kind)
        self.geometry.setText(geometry_words(record).replace(", ", "\n"))  # one fact per line: the column is narrow

    def _working_chosen(self, index: int) -> None:
        self.session.update(source={"image_size": self.working.itemData(index)})

    def _show_window(self, window) -> None:
        """Show which window the images are in: the file's own, a preset, or Auto (``window`` None)."""
        index = 0
        if window is not None:
            for i in range(1, self.window.count()):
                data, scan = self.window.itemData(i), self.session.scan
                centre, width = (scan.window if data == FILE_DEFAULT and scan is not None and scan.window else
                                 (getattr(data, "level_hu", None), getattr(data, "width_hu", None)))
                if centre is not None and (float(centre), float(width)) == (window.centre, window.width):
                    index = i
                    break
        with form.blocked(self.window):
            self.window.setCurrentIndex(index)

    def _show_slice(self, index: int) -> None:
        form.set_value(self.slice_spin, index)
        with form.blocked(self.slice_slider):
            self.slice_slider.setValue(index)

    # --- user -> session / views ---------------------------------------------------------------------
    def _window_chosen(self, index: int) -> None:
        data = self.window.itemData(index)
        if data == AUTO:
            self.autoWindowRequested.emit()
        elif data == FILE_DEFAULT:
            centre, width = self.session.scan.window
            self.presetChosen.emit(float(width), float(centre))
        else:
            self.presetChosen.emit(data.width_hu, data.level_hu)

    def choose_window(self, name: str) -> None:
        """Pick a window by its combo text prefix (e.g. "Brain"), as if the user had chosen it."""
        for i in range(self.window.count()):
            if self.window.itemText(i).startswith(name):
                self.window.setCurrentIndex(i)
                self._window_chosen(i)
                return
        raise KeyError(f"no window preset {name!r} for this scan")
