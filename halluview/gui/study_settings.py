"""The study window's settings column: which reconstructions to compare, the ε values, slices and seeds, what is
shared with the main window, and the output folder. It reads the session and holds only what the user typed;
:mod:`halluview.core.study.shared` says what the typed axes mean."""
from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import QStandardPaths, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..core.choices import operator_summary
from ..core.errors import ExperimentError
from ..core.recon.zoo import MODELS
from ..core.study import shared
from ..core.study.grid import recon_label
from .panels import form
from .panels.operator_panel import BASELINES

CLASSICAL_TIPS = {
    "zero-filled": "The MRI baseline: the inverse Fourier transform of the measured k-space, missing lines as zero. "
                   "No learning, no prior.",
    "fbp": "The CT baseline: filtered back-projection of the sinogram. No learning, no prior.",
    "identity": "The denoising baseline: the noisy image itself.",
    "tv": "Total variation: prefers piecewise-constant images (a classical compressed-sensing method).",
    "wavelet": "Wavelet sparsity: prefers images with few large wavelet coefficients (classical).",
}
EPS_TIP = ("How much the measurement may be altered, as a percentage of its size: ε in % of ‖y‖ (L2 by default). "
           "Each value is one column of the study; type any list, e.g. 0.25, 1, 2.5.")
SLICES_TIP = ("Which slices to attack, counted from 0 as the main window's slice control: e.g. 12, 14-16. The "
              "spread over slices shows as a band around each curve.")
SEEDS_TIP = ("How many random starts per setting (seeds s, s+1, … from the main window's seed): the spread over "
             "seeds shows as a band around each curve.")
FOLDER_TIP = ("Where the study's table (study.csv) is written after every cell. Running again into the same folder "
              "skips the cells already finished there, so a stopped study resumes.")
ADD_TIP = ("Compare your own model too: a fastMRI U-Net or E2E-VarNet checkpoint (weights only) or a TorchScript "
           "file. A study never loads pickled Python objects, which could run code.")
MODEL_FILTER = f"PyTorch models ({' '.join('*' + s for s in shared.MODEL_SUFFIXES)});;All files (*)"
NAME_WIDTH_PX = 330  # a long file name is elided in the middle (the tooltip has the whole path)
SHARED_TIP = ("Every attack of the study uses these settings of the main window's panels (threat, objective, "
              "optimizer, drawn region, device); change them there. The budget ε is the study's own.")


def default_folder(experiment) -> Path:
    """A folder under the user's documents named after the scan, e.g. ~/Documents/HalluView studies/brain."""
    source = experiment.source
    name = Path(source.path).stem if source.path else str(source.demo)
    documents = QStandardPaths.writableLocation(QStandardPaths.DocumentsLocation) or str(Path.home())
    return Path(documents) / "HalluView studies" / (re.sub(r"[^\w.-]+", "-", name).strip("-") or "scan")


def _group(title: str) -> QGroupBox:
    box = QGroupBox()
    form.style_section(box, title)
    return box


class StudySettings(QWidget):
    """The column of settings. ``recon_boxes`` {name: QCheckBox}, ``user_boxes`` {path: QCheckBox} (the user's
    models), ``add_model_button``, ``recon_message``, ``eps_chips`` {percent: QToolButton}, ``eps_edit``,
    ``slices_edit``, ``seeds``, ``folder_edit`` are there for tests and the window."""

    def __init__(self, session, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self._kind: str | None = None
        self._scan_source: str | None = None
        self.slices_typed = False  # until the user types slices, they follow the main window's slice
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.scan_label = form.ElidedLabel("", "The scan every attack of the study reads: the one open in the main "
                                               "window.")
        layout.addWidget(self.scan_label)
        self.recon_boxes: dict[str, QCheckBox] = {}
        self.user_boxes: dict[str, QCheckBox] = {}
        self._user_recons: dict[str, dict] = {}  # path -> the study's recon section for that file
        self._main_weights: str | None = None  # the main window's file last listed (listed once, then the user's)
        layout.addWidget(self._recon_group())
        layout.addWidget(self._grid_group())
        self.shared_label = QLabel()
        self.shared_label.setWordWrap(True)
        self.shared_label.setToolTip(SHARED_TIP)
        self.shared_label.setStyleSheet("color: #a8a8a8;")
        shared_box = _group("Shared with the main window")
        box_layout = QVBoxLayout(shared_box)
        box_layout.setContentsMargins(8, 6, 8, 8)
        box_layout.addWidget(self.shared_label)
        layout.addWidget(shared_box)
        layout.addWidget(self._folder_group())
        layout.addStretch(1)
        self.refresh()

    # --- building ----------------------------------------------------------------------------------------
    def _recon_group(self) -> QGroupBox:
        self.recon_group = _group("Reconstructions")
        column = QVBoxLayout(self.recon_group)
        column.setContentsMargins(8, 6, 8, 8)
        column.setSpacing(4)
        self.recon_grid = QGridLayout()
        self.recon_grid.setContentsMargins(0, 0, 0, 0)
        self.user_column = QVBoxLayout()
        self.user_column.setContentsMargins(0, 0, 0, 0)
        self.user_caption = QLabel("Your models")
        self.user_caption.setStyleSheet("color: #8a8a8a;")
        self.user_caption.hide()  # shown with the first file
        self.user_column.addWidget(self.user_caption)
        self.add_model_button = QPushButton("Add your model…")
        self.add_model_button.setToolTip(ADD_TIP)
        self.add_model_button.clicked.connect(self._choose_model)
        add_row = QHBoxLayout()
        add_row.addWidget(self.add_model_button)
        add_row.addStretch(1)
        self.recon_message = QLabel()
        self.recon_message.setWordWrap(True)
        self.recon_message.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.recon_message.setStyleSheet("color: #d08a3a;")
        self.recon_message.hide()
        column.addLayout(self.recon_grid)
        column.addLayout(self.user_column)
        column.addLayout(add_row)
        column.addWidget(self.recon_message)
        return self.recon_group

    def _grid_group(self) -> QGroupBox:
        box = _group("Grid")
        grid = form.section(box, "Grid")
        self.eps_chips = {}
        for percent in shared.EPS_PERCENT:
            chip = form.toggle(f"{percent:g}", f"ε = {percent:g} % of ‖y‖. {EPS_TIP}")
            chip.setChecked(True)
            chip.toggled.connect(self._chips_changed)
            self.eps_chips[percent] = chip
        chips = QWidget()
        chip_row = QHBoxLayout(chips)
        chip_row.setContentsMargins(0, 0, 0, 0)
        chip_row.setSpacing(3)
        for chip in self.eps_chips.values():
            chip_row.addWidget(chip, 1)
        form.add_row(grid, "ε (% ‖y‖)", chips, EPS_TIP)
        self.eps_edit = QLineEdit(shared.format_eps_percent([p / 100 for p in shared.EPS_PERCENT]))
        self.eps_edit.setToolTip(EPS_TIP)
        self.eps_edit.textEdited.connect(self._typed_eps)
        form.add_row(grid, "", self.eps_edit, EPS_TIP)
        self.slices_edit = QLineEdit()
        self.slices_edit.setPlaceholderText("e.g. 12, 14-16")
        self.slices_edit.textEdited.connect(lambda _text: setattr(self, "slices_typed", True))
        form.add_row(grid, "Slices", self.slices_edit, SLICES_TIP)
        self.seeds = form.spin(1, 100, tooltip=SEEDS_TIP)
        self.seeds.setValue(1)
        form.add_row(grid, "Seeds", self.seeds, SEEDS_TIP)
        return box

    def _folder_group(self) -> QGroupBox:
        box = _group("Output folder")
        row = QHBoxLayout(box)
        row.setContentsMargins(8, 6, 8, 8)
        self.folder_edit = QLineEdit()
        self.folder_edit.setToolTip(FOLDER_TIP)
        choose = QPushButton("Choose…")
        choose.setToolTip(FOLDER_TIP)
        choose.clicked.connect(self._choose_folder)
        row.addWidget(self.folder_edit, 1)
        row.addWidget(choose)
        return box

    def _choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "The study's folder", self.folder_edit.text())
        if path:
            self.folder_edit.setText(path)

    # --- ε: chips and text agree -------------------------------------------------------------------------
    def _chips_changed(self) -> None:
        try:
            typed = set(shared.parse_eps_percent(self.eps_edit.text()))
        except ExperimentError:
            typed = set()
        chip_values = {round(p / 100, 10) for p in shared.EPS_PERCENT}
        chosen = {round(p / 100, 10) for p, chip in self.eps_chips.items() if chip.isChecked()}
        self.eps_edit.setText(shared.format_eps_percent(sorted((typed - chip_values) | chosen)))

    def _typed_eps(self, text: str) -> None:
        try:
            values = set(shared.parse_eps_percent(text))
        except ExperimentError:
            return  # half typed: the chips keep their state until the text reads as numbers
        for percent, chip in self.eps_chips.items():
            with form.blocked(chip):
                chip.setChecked(round(percent / 100, 10) in values)

    def set_eps_percent(self, percents: list[float]) -> None:
        """Choose these ε values (in %), as if typed."""
        self.eps_edit.setText(", ".join(f"{p:g}" for p in percents))
        self._typed_eps(self.eps_edit.text())

    # --- session -> controls -----------------------------------------------------------------------------
    def refresh(self) -> None:
        """Follow the main window: the scan (its slice and folder by default), the acquisition's reconstructions,
        the shared settings in words."""
        experiment, scan = self.session.experiment, self.session.scan
        kind = experiment.operator.kind
        if kind != self._kind:
            self._kind = kind
            self._fill_recons(kind, experiment.recon.name)
        recon = experiment.recon
        if recon.name in shared.USER_RECONS and recon.weights and recon.weights != self._main_weights:
            self._main_weights = recon.weights
            self.add_model(recon.weights)  # the main window's own file, ticked (or why a study cannot read it)
        if scan is not None and scan.source != self._scan_source:
            self._scan_source, self.slices_typed = scan.source, False
            self.folder_edit.setText(str(default_folder(experiment)))
        if scan is not None and not self.slices_typed:
            self.slices_edit.setText(str(self.session.slice_index))
        if scan is not None:
            self.scan_label.set_full_text(f"Scan: {scan.name} · {scan.n_slices} slice{'s' * (scan.n_slices != 1)} "
                                          f"· {operator_summary(experiment.operator)}")
        else:
            self.scan_label.set_full_text("Open a scan in the main window first")
        self.shared_label.setText(self._shared_words(self.session.run_experiment() if scan is not None
                                                     else experiment))

    def _fill_recons(self, kind: str, current: str) -> None:
        for box in self.recon_boxes.values():
            self.recon_grid.removeWidget(box)
            box.deleteLater()
        self.recon_boxes.clear()
        baseline = BASELINES.get(kind)
        for i, name in enumerate(shared.recons_for(kind)):
            box = QCheckBox(name)
            box.setToolTip(MODELS[name].title if name in MODELS else CLASSICAL_TIPS.get(name, name))
            box.setChecked(name in (current, baseline))
            self.recon_grid.addWidget(box, i // 2, i % 2)
            self.recon_boxes[name] = box

    # --- the user's models -----------------------------------------------------------------------------------
    def _choose_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Add your model to the study", "", MODEL_FILTER)
        if path:
            self.add_model(path)

    def add_model(self, path: str) -> bool:
        """List the model in the file at ``path``, ticked, if the core reads it as one
        (:func:`~halluview.core.study.shared.user_recon`); otherwise say why in one line and add nothing."""
        try:
            model = shared.user_recon(path)
        except ExperimentError as err:
            self._say_recon(str(err))
            return False
        self._say_recon("")
        weights = model.recon["weights"]
        box = self.user_boxes.get(weights)
        if box is None:
            name = Path(weights).name
            box = QCheckBox(self.fontMetrics().elidedText(name, Qt.ElideMiddle, NAME_WIDTH_PX))
            box.setToolTip(f"{weights}\n{model.description}; in the table: {recon_label(model.recon)}")
            box.setAccessibleName(name)
            self.user_column.addWidget(box)
            self.user_boxes[weights] = box
            self.user_caption.show()
        self._user_recons[weights] = model.recon
        box.setChecked(True)
        return True

    def _say_recon(self, text: str) -> None:
        self.recon_message.setText(text)
        self.recon_message.setVisible(bool(text))

    @staticmethod
    def _shared_words(experiment) -> str:
        threat, objective, optimizer = experiment.threat, experiment.objective, experiment.optimizer
        norm = {"l2": "L2", "linf": "L∞"}.get(threat.norm, threat.norm)
        region = "drawn region" if experiment.region else "no region"
        return (f"{norm} budget in the {threat.domain} domain · objective {objective.kind} · {region} · "
                f"{optimizer.method.upper()} {optimizer.steps} steps × {optimizer.restarts} · device "
                f"{experiment.device} · seed from {experiment.seed}")

    # --- what the user chose -------------------------------------------------------------------------------
    def recons(self) -> list[str | dict]:
        """The ticked reconstructions as the study names them: built-in names, then the user's files' sections."""
        return ([name for name, box in self.recon_boxes.items() if box.isChecked()]
                + [dict(self._user_recons[path]) for path, box in self.user_boxes.items() if box.isChecked()])

    def tick(self, *names: str) -> None:
        """Tick exactly these reconstructions (a user's file by its path or its name in the table)."""
        for name, box in self.recon_boxes.items():
            box.setChecked(name in names)
        for path, box in self.user_boxes.items():
            box.setChecked(path in names or recon_label(self._user_recons[path]) in names)

    def eps(self) -> tuple[float, ...]:
        return shared.parse_eps_percent(self.eps_edit.text())

    def slices(self, n_slices: int) -> tuple[int, ...]:
        return shared.parse_slices(self.slices_edit.text(), n_slices)

    def folder(self) -> Path:
        text = self.folder_edit.text().strip()
        if not text:
            raise ExperimentError("choose a folder for the study's table")
        return Path(text).expanduser()
