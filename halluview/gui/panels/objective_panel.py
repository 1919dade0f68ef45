"""OBJECTIVE: what the attack aims for (any change, a change inside the region, insert or remove a lesion)."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QSlider, QWidget

from ..session import Session
from . import form

KINDS = (
    ("untargeted", "untargeted", "Change the reconstruction as much as possible, anywhere."),
    ("region", "region", "Change the drawn region as much as possible while keeping the rest as it was."),
    ("insert lesion", "insert", "Make a lesion appear inside the drawn region that is not really there."),
    ("remove lesion", "remove", "Make what is inside the drawn region disappear."),
)
WEIGHT_MAX, WEIGHT_TICKS = 10.0, 100  # the slider moves in steps of 0.1
WEIGHT_TIP = ("How hard the attack tries to leave everything outside the region unchanged "
              "(0: it may change anything; 10: it must keep the outside almost untouched).")
INTENSITY_TIP = ("Brightness of the inserted lesion, in the image's working units. "
                 "Auto: as bright as the brightest 1 % of the clean image.")


class ObjectivePanel(QGroupBox):
    """The attack's objective (``session.experiment.objective``)."""

    def __init__(self, session: Session, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.layout_ = layout = form.section(self, "Objective")
        self.kind = form.combo([(text, data) for text, data, _ in KINDS], "What the attack aims for.")
        for i, (_, _, tip) in enumerate(KINDS):
            self.kind.setItemData(i, tip, Qt.ToolTipRole)
        form.add_row(layout, "Goal", self.kind)
        self.against = form.combo([("clean recon f(y)", "clean"), ("reference x", "reference")],
                                  "What the change is measured from: the un-attacked reconstruction, or the "
                                  "reference image (ground truth).")
        form.add_row(layout, "Against", self.against)

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
        form.add_row(layout, "Keep outside w", self.weight_row, WEIGHT_TIP)

        self.auto_intensity = form.check("auto", INTENSITY_TIP)
        self.intensity = form.spin(0.0, 100.0, 0.05, 3, tooltip=INTENSITY_TIP)
        self.intensity.setValue(1.0)  # the brightest tissue of a [0, 1] image, until the user sets one
        self.intensity_row = QWidget()
        box = QHBoxLayout(self.intensity_row)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.auto_intensity)
        box.addWidget(self.intensity, 1)
        form.add_row(layout, "Intensity", self.intensity_row, INTENSITY_TIP)

        self.kind.activated.connect(lambda: self._set(kind=self.kind.currentData()))
        self.against.activated.connect(lambda: self._set(against=self.against.currentData()))
        self.weight_slider.valueChanged.connect(lambda t: self._set(outside_weight=t * WEIGHT_MAX / WEIGHT_TICKS))
        self.weight_slider.sliderMoved.connect(lambda t: form.set_value(self.weight, t * WEIGHT_MAX / WEIGHT_TICKS))
        self.weight.valueChanged.connect(lambda v: self._set(outside_weight=v))
        self.auto_intensity.toggled.connect(self._intensity_edited)
        self.intensity.valueChanged.connect(self._intensity_edited)
        session.settingsChanged.connect(self.refresh)
        self.refresh()

    # --- user -> session -----------------------------------------------------------------------------
    def _set(self, **changes) -> None:
        self.session.update(objective=changes)

    def _intensity_edited(self) -> None:
        lesion = dict(self.session.experiment.objective.lesion)  # keep the drawn shape and position
        if self.auto_intensity.isChecked():
            lesion.pop("intensity", None)
        else:
            lesion["intensity"] = self.intensity.value()
        self._set(lesion=lesion)

    # --- session -> controls -------------------------------------------------------------------------
    def refresh(self) -> None:
        """Copy ``session.experiment.objective`` into the controls (emits nothing)."""
        objective = self.session.experiment.objective
        form.select_data(self.kind, objective.kind)
        form.select_data(self.against, objective.against)
        form.set_value(self.weight, objective.outside_weight)
        with form.blocked(self.weight_slider):
            self.weight_slider.setValue(round(min(objective.outside_weight, WEIGHT_MAX) / WEIGHT_MAX * WEIGHT_TICKS))
        intensity = objective.lesion.get("intensity")
        form.set_value(self.auto_intensity, intensity is None)
        if intensity is not None:
            form.set_value(self.intensity, float(intensity))
        self.intensity.setEnabled(intensity is not None)
        untargeted = objective.kind == "untargeted"
        form.show_rows(self.layout_, untargeted, self.against)
        form.show_rows(self.layout_, not untargeted, self.weight_row)
        form.show_rows(self.layout_, objective.kind == "insert", self.intensity_row)
