"""The central widget: clean, perturbed and difference reconstructions side by side, linked and calm.

Mouse, in every panel
---------------------
- left-drag pans (or draws, when a drawing tool is active: see ``set_draw_mode`` and ``imageDragged``);
  middle-drag always pans; double-click fits the image.
- right-drag on a grey panel sets the window: horizontal = width (right widens), vertical = centre (up brightens).
  The difference map is never re-windowed by the mouse: its range is fixed per run.
- Ctrl + wheel zooms about the cursor. The plain wheel steps through slices (``wheelSlice``) when the caller turns
  that on with ``set_wheel_changes_slice(True)`` (a volume with more than one slice); otherwise it zooms too.

Images are (rows, cols) arrays shown row-major with row 0 at the top; pixel (r, c) covers [c, c+1) × [r, r+1)
in view coordinates. Updating an image keeps the zoom; only a new image shape fits the view again.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from ..core.display import grey_window
from ..core.units import WORKING, UnitMap
from .colormaps import ACCENT, BACKGROUND, IMAGE_COLORMAPS, PANEL_BACKGROUND, TITLE_COLOUR, lookup_table
from .colour_bar import ColourBar
from .panel_mouse import EXTRA_TITLES, PANELS, TITLES, PanelMouse  # noqa: F401 - TITLES: the panels' names
from .panel_viewbox import PanelViewBox

pg.setConfigOptions(imageAxisOrder="row-major")

WL_PIXELS = 200.0  # a right-drag this many screen pixels long changes the window by about its own width


class ImagePanels(PanelMouse, QWidget):
    """Clean / perturbed / difference reconstructions (plus an optional fourth panel), linked pan and zoom.

    Signals
    -------
    levelsChanged(float, float) : the grey window (low, high) changed (right-drag, histogram or ``set_levels``).
    cursorMoved(int, int) : the mouse is over pixel (row, col).
    wheelSlice(int) : +1 / −1 slice steps from the plain wheel, when ``set_wheel_changes_slice(True)``.
    imageDragged(str, float, float) : in draw mode, a left-drag: phase ("start", "move", "finish"), x, y in view
        coordinates (x = column, y = row; pixel (r, c) covers [c, c+1) × [r, r+1)).
    """

    levelsChanged = Signal(float, float)
    cursorMoved = Signal(int, int)
    wheelSlice = Signal(int)
    imageDragged = Signal(str, float, float)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.draw_mode = False
        self.wheel_changes_slice = False
        self._wheel_rest = 0
        self._data: dict[str, np.ndarray | None] = dict.fromkeys(PANELS)
        self._shape: tuple[int, int] | None = None
        self._frame: tuple[int, int] | None = None  # the scan's pixels, when the images are at a working size
        self._levels: tuple[float, float] | None = None
        self._image_lut: np.ndarray | None = None  # None: grey
        self._window_start: tuple[float, float] | None = None
        self._difference_limit: float | None = None
        self._difference_mode = "signed"
        self._extra_kind: str | None = None
        self._extra_limit = 0.0
        self._cursor: tuple[int, int] | None = None
        self._syncing_histogram = False
        self._units: UnitMap = WORKING
        self.setStyleSheet(f"background-color: {BACKGROUND};")
        self._build()
        self.set_extra_panel(None)
        self.set_placeholder("Loading…")

    # --- construction ------------------------------------------------------------------------------------
    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 2, 4, 4)
        outer.setSpacing(2)
        self.banner = QLabel("")
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet(f"color: {ACCENT}; padding: 2px;")
        self.banner.setToolTip("What the panels below show: the clean reconstruction only, a run while it runs, or "
                               "a run's result.")
        self.banner.hide()
        outer.addWidget(self.banner)
        layout = QHBoxLayout()
        layout.setSpacing(6)
        outer.addLayout(layout, 1)
        self.views: dict[str, PanelViewBox] = {}
        self.images: dict[str, pg.ImageItem] = {}
        self.titles: dict[str, QLabel] = {}
        self._columns: dict[str, QWidget] = {}
        self._outlines: dict[str, pg.PlotCurveItem] = {}
        self._sketches: dict[str, pg.PlotCurveItem] = {}
        self._crosshairs: dict[str, tuple[pg.InfiniteLine, pg.InfiniteLine]] = {}
        self._placeholders: dict[str, pg.TextItem] = {}
        self.colour_bar = ColourBar()  # beside the difference panel, outside it: every panel keeps one size
        self.colour_bar.set_active(False)  # blank (its space kept: the panels never resize) until there is a Δ
        for name in PANELS:
            layout.addWidget(self._build_panel(name), 1)
            if name == "difference":
                layout.addWidget(self.colour_bar)
        for name in PANELS[1:]:
            self.views[name].setXLink(self.views["clean"])
            self.views[name].setYLink(self.views["clean"])
        self.histogram = pg.HistogramLUTWidget()
        self.histogram.setBackground(BACKGROUND)
        hist = self.histogram.item
        hist.layout.removeItem(hist.gradient)  # the images keep their own colour maps; this only sets the window
        hist.gradient.hide()
        hist.fillHistogram(color=(90, 90, 90))
        hist.region.setBrush(pg.mkBrush(255, 255, 255, 22))
        hist.sigLevelsChanged.connect(self._histogram_levels)
        self.histogram.setFixedWidth(80)
        self.histogram.hide()
        layout.addWidget(self.histogram)

    def _build_panel(self, name: str) -> QWidget:
        column = QWidget()
        box = QVBoxLayout(column)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(2)
        title = QLabel(TITLES.get(name, ""))
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        title.setStyleSheet(f"color: {TITLE_COLOUR}; font-size: 11px; padding: 2px;")
        box.addWidget(title)
        view = pg.GraphicsView(background=PANEL_BACKGROUND)
        vb = PanelViewBox(name, self)
        view.setCentralItem(vb)
        view.viewport().installEventFilter(self)
        view.scene().sigMouseMoved.connect(lambda pos, vb=vb: self._mouse_moved(vb, pos))
        box.addWidget(view, 1)
        placeholder = pg.TextItem("", color=TITLE_COLOUR, anchor=(0.5, 0.5))
        placeholder.setZValue(20)
        vb.addItem(placeholder, ignoreBounds=True)
        self._placeholders[name] = placeholder
        image = pg.ImageItem(axisOrder="row-major")
        vb.addItem(image)
        outline = pg.PlotCurveItem(connect="pairs", pen=pg.mkPen(ACCENT, width=1.5))
        sketch = pg.PlotCurveItem(pen=pg.mkPen(ACCENT, width=1.5, style=Qt.PenStyle.DashLine))
        lines = tuple(pg.InfiniteLine(angle=a, movable=False, pen=pg.mkPen(220, 220, 220, 70)) for a in (90, 0))
        for z, item in enumerate([outline, sketch, *lines], start=10):
            item.setZValue(z)
            item.hide()
            vb.addItem(item, ignoreBounds=True)
        self.views[name], self.images[name], self.titles[name] = vb, image, title
        self._columns[name], self._outlines[name], self._sketches[name] = column, outline, sketch
        self._crosshairs[name] = lines
        return column

    # --- images ------------------------------------------------------------------------------------------
    def set_images(self, clean: np.ndarray | None = None, perturbed: np.ndarray | None = None,
                   difference: np.ndarray | None = None, extra: np.ndarray | None = None) -> None:
        """Show new (H, W) images; None keeps a panel's image. Keeps zoom unless the image shape changes."""
        given = {"clean": clean, "perturbed": perturbed, "difference": difference, "extra": extra}
        given = {k: np.asarray(v, np.float32) for k, v in given.items() if v is not None}
        reshaped = False
        for name, image in given.items():
            if image.ndim != 2:
                raise ValueError(f"the {name} image must be 2-D (rows, cols), not {image.shape}")
            if image.shape != self._shape:
                self._new_shape(image.shape)
                reshaped = True
            self._data[name] = image
        if self._levels is None:
            grey = next((given[k] for k in ("clean", "perturbed") if k in given), None)
            if grey is not None:
                self.set_levels(*grey_window(grey))
        if given:
            self.set_placeholder(None, tuple(given))
        for name in given:
            self._render(name)
        if "clean" in given:
            self._update_histogram()
        if reshaped:
            self.reset_view()

    def clear(self, *names: str) -> None:
        """Empty the named panels (all when none are named)."""
        for name in names or PANELS:
            self._data[name] = None
            self.images[name].clear()
            if name == "difference":
                self.colour_bar.set_active(False)

    def _new_shape(self, shape: tuple[int, int]) -> None:
        self._shape = tuple(shape)
        for name, image in self._data.items():  # images of another shape are stale: another scan or slice
            if image is not None and image.shape != self._shape:
                self.clear(name)

    def image_shape(self) -> tuple[int, int] | None:
        """The pixel grid the panels' coordinates (drawing, crosshair, readouts) are in: the scan's own."""
        return self._frame or self._shape

    def set_frame(self, shape: tuple[int, int] | None) -> None:
        """Show images of another size (a working size) stretched over the scan's ``shape`` pixels, so that
        coordinates stay the scan's; None: one image pixel per panel unit."""
        frame = None if shape is None else (int(shape[0]), int(shape[1]))
        if frame != self._frame:
            self._frame = frame
            for name in self.images:
                self._place(name)
            self.reset_view()

    def _place(self, name: str) -> None:
        data = self._data.get(name)
        if data is not None:
            height, width = self._frame or data.shape
            self.images[name].setRect(QRectF(0, 0, width, height))

    def _grey(self, name: str) -> bool:
        return name in ("clean", "perturbed") or (name == "extra" and self._extra_kind == "reference")

    def _render(self, name: str) -> None:
        data, item = self._data[name], self.images[name]
        if data is None:
            item.clear()
            return
        self._render_image(name)
        self._place(name)

    def _render_image(self, name: str) -> None:
        data, item = self._data[name], self.images[name]
        if self._grey(name):
            item.setImage(data, autoLevels=False, levels=self._levels or grey_window(data),
                          lut=self._image_lut)
        elif name == "difference":
            self._render_difference()
        else:  # the perturbation: diverging, symmetric, its range only grows during a run (no flicker)
            self._extra_limit = max(self._extra_limit, float(np.nanmax(np.abs(data))), 1e-12)
            item.setImage(data, autoLevels=False, levels=(-self._extra_limit, self._extra_limit),
                          lut=lookup_table("diverging"))

    def _render_difference(self) -> None:
        data = self._data["difference"]
        self.colour_bar.set_active(data is not None)
        if data is None:
            return
        if self._difference_limit is None:  # the caller did not fix it: take the first difference's range
            self._difference_limit = max(float(np.nanmax(np.abs(data))), 1e-12)
        limit = self._difference_limit
        if self._difference_mode == "signed":
            self.images["difference"].setImage(data, autoLevels=False, levels=(-limit, limit),
                                               lut=lookup_table("diverging"))
        else:
            self.images["difference"].setImage(np.abs(data), autoLevels=False, levels=(0.0, limit),
                                               lut=lookup_table("heat"))
        self._update_colour_bar()

    def _update_colour_bar(self) -> None:
        limit = self._difference_limit
        if limit is None:
            return
        shown = float(self._units.difference_to_scan(limit))
        if self._difference_mode == "signed":
            self.colour_bar.set_range(lookup_table("diverging"), -shown, shown, self._units.label)
        else:
            self.colour_bar.set_range(lookup_table("heat"), 0.0, shown, self._units.label)

    def set_units(self, units: UnitMap) -> None:
        """The scan's units: pixel readouts and the colour bar show values in them (HU for CT)."""
        self._units = units
        self._update_colour_bar()

    def units(self) -> UnitMap:
        return self._units

    def set_placeholder(self, text: str | None, names: tuple[str, ...] = PANELS) -> None:
        """A message in the middle of the named panels (start-up, loading, "Run ▶"); None removes it. A panel's
        message goes when it gets an image."""
        for name in names:
            item = self._placeholders[name]
            item.setText(text or "")
            item.setVisible(bool(text))
            if text:
                item.setPos(self.views[name].viewRect().center())

    def placeholder(self, name: str = "clean") -> str | None:
        item = self._placeholders[name]
        return item.toPlainText() if item.isVisible() else None

    def set_banner(self, text: str | None) -> None:
        """One line above the panels saying what they show (which run, a transfer's surrogate, the noise)."""
        self.banner.setText(text or "")
        self.banner.setVisible(bool(text))

    def set_difference_limit(self, limit: float) -> None:
        """Fix the difference map's range to ±``limit`` (set once per run so the colours do not flicker)."""
        if not limit > 0:
            raise ValueError(f"the difference limit must be > 0, not {limit}")
        self._difference_limit = float(limit)
        self._render_difference()
        self._update_colour_bar()

    def difference_limit(self) -> float | None:
        return self._difference_limit

    def set_difference_mode(self, mode: str) -> None:
        """"signed": blue – grey (0) – red over ±limit; "abs": |Δ| as black → red → yellow over [0, limit]."""
        if mode not in ("signed", "abs"):
            raise ValueError(f"difference mode must be 'signed' or 'abs', not {mode!r}")
        self._difference_mode = mode
        self.titles["difference"].setText(TITLES["difference"] if mode == "signed" else "|Difference|")
        self._render_difference()

    def set_image_colormap(self, name: str) -> None:
        """Colour map of the image panels (clean, perturbed, reference): "grey" (default), "viridis", "inferno"."""
        if name not in IMAGE_COLORMAPS:
            raise ValueError(f"image colour map must be one of {IMAGE_COLORMAPS}, not {name!r}")
        self._image_lut = None if name == "grey" else lookup_table(name)
        for panel in PANELS:
            if self._grey(panel) and self._data[panel] is not None:
                self._render(panel)

    def set_extra_panel(self, kind: str | None) -> None:
        """Show a fourth panel: None (hidden), "perturbation" or "reference"."""
        if kind not in (None, *EXTRA_TITLES):
            raise ValueError(f"extra panel must be None or one of {sorted(EXTRA_TITLES)}, not {kind!r}")
        if kind != self._extra_kind:
            self._extra_kind, self._extra_limit = kind, 0.0
            self.clear("extra")
        self.titles["extra"].setText(EXTRA_TITLES.get(kind, ""))
        self._columns["extra"].setVisible(kind is not None)
        if kind is not None:  # it missed range changes while hidden
            self.views["extra"].setRange(self.views["clean"].viewRect(), padding=0)

    def extra_panel(self) -> str | None:
        return self._extra_kind

    def reset_view(self) -> None:
        """Fit the image in the panels (all follow: they are linked)."""
        if self._shape is not None:
            height, width = self._frame or self._shape
            self.views["clean"].setRange(QRectF(0, 0, width, height), padding=0.02)

    # --- the grey window ---------------------------------------------------------------------------------
    def set_levels(self, low: float, high: float) -> None:
        """The grey window (black at ``low``, white at ``high``) of the clean, perturbed and reference panels."""
        low, high = float(low), float(high)
        if not high > low:
            high = low + max(abs(low) * 1e-6, 1e-12)
        if self._levels == (low, high):
            return
        self._levels = (low, high)
        for name in PANELS:
            if self._grey(name) and self._data[name] is not None:
                self.images[name].setLevels((low, high))
        self._syncing_histogram = True
        try:
            self.histogram.item.setLevels(low, high)
        finally:
            self._syncing_histogram = False
        self.levelsChanged.emit(low, high)

    def levels(self) -> tuple[float, float] | None:
        return self._levels

    def _histogram_levels(self, item) -> None:
        if not self._syncing_histogram:
            self.set_levels(*item.getLevels())

    def _update_histogram(self) -> None:
        data = self._data["clean"]
        finite = data[np.isfinite(data)] if data is not None else np.zeros(0)
        if finite.size:
            counts, edges = np.histogram(finite, bins=128)
            self.histogram.item.plot.setData((edges[:-1] + edges[1:]) / 2, np.log1p(counts))

    def show_histogram(self, visible: bool) -> None:
        self.histogram.setVisible(bool(visible))

    def _window_drag(self, name: str, ev) -> None:
        if not self._grey(name) or self._levels is None:
            return
        if ev.isStart() or self._window_start is None:
            self._window_start = self._levels
        low, high = self._window_start
        delta = ev.scenePos() - ev.buttonDownScenePos()
        width = (high - low) * float(np.exp(delta.x() / WL_PIXELS))
        centre = (low + high) / 2 + delta.y() / WL_PIXELS * (high - low)  # dragging up (dy < 0) brightens
        self.set_levels(centre - width / 2, centre + width / 2)
        if ev.isFinish():
            self._window_start = None

    def grab_panels(self) -> QImage:
        """The panels as an image (for reports and screenshots)."""
        return self.grab().toImage()
