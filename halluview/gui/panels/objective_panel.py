"""OBJECTIVE: what the attack aims for (any change, a change inside the region, insert or remove a lesion)."""
from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QSlider, QWidget

from ...core.units import WORKING, UnitMap
from ..session import Session
from . import form

KINDS = (
    ("change anything", "untargeted", "Change the reconstruction as much as possible, anywhere (untargeted: "
                                      "maximise ‖f(y+δ) − f(y)‖²)."),
    ("change the region", "region", "Change the drawn region as much as possible while keeping the rest as it was "
                                    "(region-targeted: maximise ‖Δ inside‖² − w ‖Δ outside‖², Morshuis et al. "
                                    "2022)."),
    ("insert lesion", "insert", "Make a lesion appear inside the drawn region that is not really there (drive the "
                                "region towards the clean image with the lesion painted in)."),
    ("remove lesion", "remove", "Make what is inside the drawn region disappear (drive the region towards the clean "
                                "image with the region filled in from its surroundings)."),
)
AGAINST_TIP = ("What the change is measured from: the un-attacked reconstruction f(y), or the reference image x "
               "(ground truth): the attack maximises ‖f(y+δ) − f(y)‖² or ‖f(y+δ) − x‖².")
WEIGHT_MAX, WEIGHT_TICKS = 10.0, 100  # the slider moves in steps of 0.1
WEIGHT_TIP = ("How hard the attack tries to leave everything outside the region unchanged (0: it may change "
              "anything; 10: it must keep the outside almost untouched). The weight w of the change outside the "
              "region in the objective: … − w ‖Δ outside‖².")
INTENSITY_TIP = ("Brightness of the inserted lesion, in the scan's units (HU for a CT). Auto: as bright as the "
                 "brightest 1 % of the clean reconstruction. The experiment records it as the lesion's \"intensity\" "
                 "in working units (CT: (HU + 1000) / 1000; otherwise the slice's range mapped to 0…1).")


def _step(units: UnitMap) -> float:
    """The intensity spin box's step in the scan's units: 10 HU; a hundredth of the slice's range otherwise."""
    return abs(units.difference_to_scan(1.0)) / 100


def _decimals(units: UnitMap) -> int:
    """Decimals that show a tenth of a step: none for HU, 3 for a slice whose range is about 1."""
    return min(max(1 - round(math.log10(_step(units))), 0), 6)


class ObjectivePanel(QGroupBox):
    """The attack's objective (``session.experiment.objective``); the lesion intensity shown in the scan's units."""

    def __init__(self, session: Session, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self._units_for: tuple | None = None  # (scan, slice) whose unit map is cached in _units_cached
        self._units_cached = WORKING
        self.layout_ = layout = form.section(self, "Objective")
        self.kind = form.combo([(text, data) for text, data, _ in KINDS], "What the attack aims for.")
        for i, (_, _, tip) in enumerate(KINDS):
            self.kind.setItemData(i, tip, Qt.ToolTipRole)
        form.add_row(layout, "Goal", self.kind)
        self.against = form.combo([("the clean reconstruction", "clean"), ("the reference image", "reference")],
                                  AGAINST_TIP)
        form.add_row(layout, "Measured from", self.against)
        for box in (self.kind, self.against):  # long items show in full in the list: they must not widen the panel
            box.setSizeAdjustPolicy(box.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            box.setMinimumContentsLength(12)

        self.weight_slider = QSlider(Qt.Horizontal)
        self.weight_slider.setRange(0, WEIGHT_TICKS)
        self.weight_slider.setTracking(False)
        self.weight_slider.setToolTip(WEIGHT_TIP)
        self.weight = form.spin(0.0, WEIGHT_MAX, 0.1, 1, tooltip=WEIGHT_TIP)
        self.weight.setMinimumWidth(64)
        self.weight_row = QWidget()
        box = QHBoxLayout(self.weight_row)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.weight_slider, 1)
        box.addWidget(self.weight)
        self.weight_label = QLabel("Keep the rest unchanged")  # a long label: its slider on the line below
        self.weight_label.setToolTip(WEIGHT_TIP)
        self.weight_label.setBuddy(self.weight)
        layout.addRow(self.weight_label)
        layout.addRow(self.weight_row)

        self.auto_intensity = form.check("auto", INTENSITY_TIP)
        self.auto_text = QLabel("(brightest 1 %)")
        self.auto_text.setToolTip(INTENSITY_TIP)
        self.intensity = form.spin(0.0, 100.0, 0.05, 3, tooltip=INTENSITY_TIP)
        self.intensity_row = QWidget()
        box = QHBoxLayout(self.intensity_row)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.auto_intensity)
        box.addWidget(self.auto_text, 1)
        box.addWidget(self.intensity, 1)
        form.add_row(layout, "Brightness", self.intensity_row, INTENSITY_TIP)

        self.kind.activated.connect(lambda: self._set(kind=self.kind.currentData()))
        self.against.activated.connect(lambda: self._set(against=self.against.currentData()))
        self.weight_slider.valueChanged.connect(lambda t: self._set(outside_weight=t * WEIGHT_MAX / WEIGHT_TICKS))
        self.weight_slider.sliderMoved.connect(lambda t: form.set_value(self.weight, t * WEIGHT_MAX / WEIGHT_TICKS))
        self.weight.valueChanged.connect(lambda v: self._set(outside_weight=v))
        self.auto_intensity.toggled.connect(self._auto_toggled)
        self.intensity.valueChanged.connect(self._intensity_typed)
        for signal in (session.settingsChanged, session.scanChanged, session.sliceChanged):
            signal.connect(self.refresh)  # the units follow the scan and, outside HU, the slice
        self.refresh()

    # --- units ---------------------------------------------------------------------------------------
    def units(self) -> UnitMap:
        """The scan's units for the slice on screen (working units when no scan is open)."""
        scan = self.session.scan
        if scan is None:
            return WORKING
        if self._units_for is None or self._units_for[0] is not scan or self._units_for[1] != self.session.slice_index:
            self._units_cached = self.session.unit_map()  # one slice read per slice, not per settings change
            self._units_for = (scan, self.session.slice_index)
        return self._units_cached

    # --- user -> session -----------------------------------------------------------------------------
    def _set(self, **changes) -> None:
        self.session.update(objective=changes)

    def _set_intensity(self, working: float | None) -> None:
        lesion = dict(self.session.experiment.objective.lesion)  # keep the drawn shape and position
        if working is None:
            lesion.pop("intensity", None)
        else:
            lesion["intensity"] = float(working)
        self._set(lesion=lesion)

    def _auto_toggled(self, auto: bool) -> None:
        """Auto off: start from the brightest 1 % of the slice on screen, the user's to change."""
        if auto:
            self._set_intensity(None)
            return
        scan, units = self.session.scan, self.units()
        start = 1.0 if scan is None else float(np.nanpercentile(scan.slice_image(self.session.slice_index), 99))
        self._set_intensity(units.to_working(round(start, _decimals(units))))

    def _intensity_typed(self, shown: float) -> None:
        self._set_intensity(self.units().to_working(shown))

    # --- session -> controls -------------------------------------------------------------------------
    def refresh(self) -> None:
        """Copy ``session.experiment.objective`` into the controls (emits nothing), intensities in scan units."""
        objective = self.session.experiment.objective
        form.select_data(self.kind, objective.kind)
        form.select_data(self.against, objective.against)
        form.set_value(self.weight, objective.outside_weight)
        with form.blocked(self.weight_slider):
            self.weight_slider.setValue(round(min(objective.outside_weight, WEIGHT_MAX) / WEIGHT_MAX * WEIGHT_TICKS))
        untargeted = objective.kind == "untargeted"
        form.show_rows(self.layout_, untargeted, self.against)
        form.show_rows(self.layout_, not untargeted, self.weight_label, self.weight_row)
        form.show_rows(self.layout_, objective.kind == "insert", self.intensity_row)
        intensity = objective.lesion.get("intensity")
        form.set_value(self.auto_intensity, intensity is None)
        self.auto_text.setVisible(intensity is None)
        self.intensity.setVisible(intensity is not None)
        if intensity is not None:
            self._show_intensity(float(intensity))

    def _show_intensity(self, working: float) -> None:
        units = self.units()
        ends = sorted((units.to_scan(0.0), units.to_scan(100.0)))  # the slice's darkest to far above its brightest
        with form.blocked(self.intensity):
            self.intensity.setDecimals(_decimals(units))
            self.intensity.setSingleStep(_step(units))
            self.intensity.setRange(min(ends[0], units.to_scan(working)), max(ends[1], units.to_scan(working)))
            self.intensity.setSuffix(f" {units.label}")
            self.intensity.setValue(units.to_scan(working))
