"""THREAT: where the perturbation δ lives and how large it may be (norm, ε, domain, patch area)."""
from __future__ import annotations

import math

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QButtonGroup, QComboBox, QGroupBox, QHBoxLayout, QRadioButton, QSlider, QWidget

from ...core.attacks.threat import ThreatConfig
from ..session import Session
from . import form

PRESETS_PERCENT = (0.25, 0.5, 1.0, 2.5, 8.0)
"""Relative L2 budgets of the sizes used in published robustness studies of MRI / CT reconstruction."""
SLIDER_STEPS = 1000
LOG_RANGE = {"relative": (-4.0, math.log10(0.2)), "absolute": (-6.0, 3.0)}  # log10 ε at the slider's ends
MEASUREMENT = {"mri": "the raw data (k-space)", "ct": "the raw data (sinogram)", "denoise": "the noisy image"}
NORM_TIP = ("How the size of the change δ is measured: L2 (‖δ‖₂) limits its total energy, L∞ (‖δ‖∞) its largest "
            "single value.")
EPS_TIP = ("How much the measurement may be altered, as a percentage of its size (or in its own units). The budget "
           "ε bounds ‖δ‖; relative: ε = ‖δ‖ / ‖y‖ for a change of the measurement y, ‖δ‖ / ‖x‖ for a change of the "
           "image x (image and patch threats), in the chosen norm.")
UNITS_TIP = ("Relative: ε as a percentage of the clean data's size: ‖y‖ of the measurement y, or ‖x‖ of the image "
             "x for image and patch threats, in the chosen norm (L∞: the largest value); per coil, each coil's ‖y_c‖. "
             "Absolute: ε in the data's own units.")
DOMAIN_TIP = ("Where the change is made, the threat's domain: measurement (δ added to the raw data y), image (δ "
              "added to the object x before it is scanned) or patch (the image domain, δ only inside the drawn "
              "region).")
PRESET_TIP = ("A budget of the size used in published robustness studies of MRI / CT reconstruction "
              "(Darestani et al. 2021, Genzel et al. 2022, Morshuis et al. 2022): ε = {p:g} % of ‖y‖. "
              "Highlighted while it is the budget.")


def _units_in_words(threat: ThreatConfig, kind: str) -> tuple[str, str]:
    """The "relative" and "absolute" items in words: what a relative ε is a percentage of (‖y‖, ‖x‖, ‖y_c‖ or
    their largest value for L∞), and what an absolute ε is measured in."""
    if threat.domain != "measurement":
        owner = "the image's"
    elif kind == "denoise":
        owner = "the noisy image's"
    elif threat.per_coil and kind == "mri":
        owner = "each coil's"
    else:
        owner = "the measurement's"
    size = "largest value" if threat.norm == "linf" else "size"
    return f"% of {owner} {size}", f"absolute (in {owner} units)"


def _row(*widgets: QWidget, stretch: int = -1) -> QWidget:
    row = QWidget()
    box = QHBoxLayout(row)
    box.setContentsMargins(0, 0, 0, 0)
    box.setSpacing(3)
    for i, widget in enumerate(widgets):
        box.addWidget(widget, 1 if i == stretch else 0)
    if stretch < 0:
        box.addStretch(1)
    return row


class ThreatPanel(QGroupBox):
    """The perturbation budget (``session.experiment.threat``)."""

    def __init__(self, session: Session, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.layout_ = layout = form.section(self, "Threat")
        self.l2, self.linf = QRadioButton("total (L2)"), QRadioButton("peak (L∞)")
        self.l2.setToolTip("Limit the total energy of the change (‖δ‖₂): it may gather where it does most harm.")
        self.linf.setToolTip("Limit every single value's change (‖δ‖∞): small everywhere, but everywhere at once.")
        self.norms = QButtonGroup(self)
        self.norms.addButton(self.l2)
        self.norms.addButton(self.linf)
        form.add_row(layout, "Limit", _row(self.l2, self.linf), NORM_TIP)

        self.eps_slider = QSlider(Qt.Horizontal)
        self.eps_slider.setRange(0, SLIDER_STEPS)
        self.eps_slider.setToolTip(EPS_TIP)
        self.eps = form.spin(1e-6, 1e6, 0.1, 3, tooltip=EPS_TIP)
        self.eps.setFixedWidth(104)
        form.add_row(layout, "Budget", _row(self.eps_slider, self.eps, stretch=0), EPS_TIP)
        self.preset_buttons = []
        for percent in PRESETS_PERCENT:  # a full-width row under the budget; checked while ε is that preset
            button = form.toggle(f"{percent:g} %", PRESET_TIP.format(p=percent))
            button.clicked.connect(lambda _=False, p=percent: self.choose_preset(p))
            self.preset_buttons.append(button)
        self.presets = _row(*self.preset_buttons, stretch=len(self.preset_buttons))
        layout.addRow(self.presets)
        self.mode = form.combo([("relative", "relative"), ("absolute", "absolute")], UNITS_TIP)
        self.mode.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)  # long items: the popup
        self.mode.setMinimumContentsLength(12)
        form.add_row(layout, "Budget in", self.mode)

        self.domain = form.combo([], DOMAIN_TIP)
        form.add_row(layout, "Where", self.domain)
        self.per_coil = form.check("a separate budget for each coil", "Give every receiver coil its own budget, "
                                   "relative to that coil's signal (ε per coil: ‖δ_c‖ ≤ ε ‖y_c‖ for every coil c).")
        layout.addRow(self.per_coil)
        self.patch_area = form.spin(0, 10**7, 10, suffix=" px", tooltip="The largest patch allowed, in pixels "
                                                                        "(the patch's area budget; 0: no limit).")
        form.add_row(layout, "Largest patch", self.patch_area)

        self.norms.buttonClicked.connect(lambda b: self._set(norm="l2" if b is self.l2 else "linf"))
        self.eps.valueChanged.connect(self._eps_typed)
        self.eps_slider.valueChanged.connect(self._eps_slid)
        self.eps_slider.sliderMoved.connect(lambda p: form.set_value(self.eps, self._display(self._from_slider(p))))
        self.mode.activated.connect(self._mode_chosen)
        self.domain.activated.connect(lambda: self._set(domain=self.domain.currentData()))
        self.per_coil.toggled.connect(lambda on: self._set(per_coil=on))
        self.patch_area.valueChanged.connect(lambda v: self._set(patch_area_px=v or None))
        session.settingsChanged.connect(self.refresh)
        self.refresh()

    # --- user -> session -----------------------------------------------------------------------------
    def _set(self, **changes) -> None:
        self.session.update(threat=changes)

    def choose_preset(self, percent: float) -> None:
        """A relative budget of ``percent`` % of the clean measurement's size."""
        self._set(eps=percent / 100, eps_mode="relative")

    def _relative(self) -> bool:
        return self.session.experiment.threat.eps_mode == "relative"

    def _display(self, eps: float) -> float:
        return eps * 100 if self._relative() else eps

    def _eps_typed(self, shown: float) -> None:
        self._set(eps=shown / 100 if self._relative() else shown)

    def _from_slider(self, position: int) -> float:
        low, high = LOG_RANGE[self.session.experiment.threat.eps_mode]
        return 10 ** (low + (high - low) * position / SLIDER_STEPS)

    def _eps_slid(self, position: int) -> None:
        self._set(eps=float(f"{self._from_slider(position):.3g}"))  # round: the slider is only a coarse control

    def _mode_chosen(self) -> None:
        """Switch units, keeping the same budget when the clean measurement's size is known (the core converts)."""
        if self.mode.currentData() != self.session.experiment.threat.eps_mode:
            self.session.set_eps_mode(self.mode.currentData())

    # --- session -> controls -------------------------------------------------------------------------
    def refresh(self) -> None:
        """Copy ``session.experiment.threat`` into the controls (emits nothing)."""
        experiment = self.session.experiment
        threat, kind = experiment.threat, experiment.operator.kind
        relative, patch = threat.eps_mode == "relative", threat.domain == "patch"
        with form.blocked(self.norms, self.l2, self.linf):
            (self.l2 if threat.norm == "l2" else self.linf).setChecked(True)
        for data, text in zip(("relative", "absolute"), _units_in_words(threat, kind)):
            self.mode.setItemText(self.mode.findData(data), text)
        form.select_data(self.mode, threat.eps_mode)
        with form.blocked(self.eps):
            self.eps.setDecimals(3 if relative else 6)
            self.eps.setRange(*((1e-3, 100.0) if relative else (1e-6, 1e6)))
            self.eps.setSuffix(" %" if relative else "")
            self.eps.setSingleStep(0.1 if relative else 0.001)
            self.eps.setValue(self._display(threat.eps))
        low, high = LOG_RANGE[threat.eps_mode]
        position = (math.log10(threat.eps) - low) / (high - low) * SLIDER_STEPS
        with form.blocked(self.eps_slider):
            self.eps_slider.setValue(round(min(max(position, 0), SLIDER_STEPS)))
        with form.blocked(self.domain):
            self.domain.clear()
            for text, data in ((MEASUREMENT[kind], "measurement"), ("the object, before the scan", "image"),
                               ("a drawn patch of the object", "patch")):
                self.domain.addItem(text, data)
        form.select_data(self.domain, threat.domain)
        form.set_value(self.per_coil, threat.per_coil)
        form.set_value(self.patch_area, threat.patch_area_px or 0)
        form.show_rows(self.layout_, threat.domain == "measurement" and kind == "mri" and relative, self.per_coil)
        form.show_rows(self.layout_, patch, self.patch_area)
        for button, percent in zip(self.preset_buttons, PRESETS_PERCENT):
            button.setChecked(relative and math.isclose(threat.eps * 100, percent, rel_tol=1e-9))
