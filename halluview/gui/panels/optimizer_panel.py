"""OPTIMISER: how the attack climbs (PGD or Adam, steps, step size, schedule, restarts), its seed and device."""
from __future__ import annotations

import torch
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QWidget

from ...core.attacks.objectives import INTERIOR_KINDS
from ..session import Session
from . import form

STEP_TIP = ("Length of each step, as a fraction of the budget ε (the step size α; the first step for the auto "
            "schedule). Auto: 2 with the auto schedule (Auto-PGD, Croce & Hein 2020), 2.5 / steps otherwise (Madry "
            "et al. 2018).")


def devices() -> list[tuple[str, str]]:
    """(text, device) choices: automatic, the CPU, and every CUDA device torch sees."""
    choices = [("auto (GPU if present)", "auto"), ("CPU", "cpu")]
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            choices.append((f"cuda:{i}  {torch.cuda.get_device_name(i)}", f"cuda:{i}"))
    return choices


class OptimizerPanel(QGroupBox):
    """The attack's optimiser (``session.experiment.optimizer``), seed and device."""

    def __init__(self, session: Session, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        layout = form.section(self, "Optimiser")
        self.method = form.combo([("PGD", "pgd"), ("Adam", "adam")],
                                 "PGD (projected gradient descent): steps along the steepest direction, brought "
                                 "back inside the budget. Adam: steps that adapt their length, brought back likewise.")
        self.steps = form.spin(1, 100000, 10, tooltip="How many improvement steps the attack takes; more is "
                                                      "slower but finds stronger attacks.")
        self.auto_step = form.check("auto", STEP_TIP)
        self.step_size = form.spin(1e-5, 10.0, 0.005, 5, tooltip=STEP_TIP)
        step_row = QWidget()
        box = QHBoxLayout(step_row)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.auto_step)
        box.addWidget(self.step_size, 1)
        self.schedule = form.combo([("auto (halve when stuck)", "auto"), ("constant", "constant"),
                                    ("cosine decay", "cosine")],
                                   "Auto: start large and halve the step, back at the best point so far, whenever "
                                   "the attack stops improving (Auto-PGD). Constant: same step length throughout. "
                                   "Cosine: steps shrink towards the end.")
        self.random_start = form.check("random start", "Start from a random change inside the budget instead of "
                                                       "from no change.")
        self.restarts = form.spin(1, 100, tooltip="Run the attack this many times from different random starts "
                                                  "and keep the worst case.")
        self.seed = form.spin(0, 2**31 - 1, tooltip="Fixes the random choices, so the same seed gives the same "
                                                    "attack again.")
        self.device = form.combo(devices(), "Where the computation runs: the processor (CPU) or a graphics card.")
        form.add_row(layout, "Method", self.method)
        form.add_row(layout, "Steps", self.steps)
        form.add_row(layout, "Step size", step_row, STEP_TIP)
        form.add_row(layout, "Schedule", self.schedule)
        form.add_row(layout, "Restarts", self.restarts)
        layout.addRow(self.random_start)
        form.add_row(layout, "Random seed", self.seed)
        form.add_row(layout, "Computed on", self.device)

        self.method.activated.connect(lambda: self._set(method=self.method.currentData()))
        self.schedule.activated.connect(lambda: self._set(schedule=self.schedule.currentData()))
        self.steps.valueChanged.connect(lambda v: self._set(steps=v))
        self.restarts.valueChanged.connect(lambda v: self._set(restarts=v))
        self.random_start.toggled.connect(lambda on: self._set(random_start=on))
        self.auto_step.toggled.connect(self._step_size_edited)
        self.step_size.valueChanged.connect(self._step_size_edited)
        self.seed.valueChanged.connect(lambda v: self.session.update(seed=v))
        self.device.activated.connect(lambda: self.session.update(device=self.device.currentData()))
        session.settingsChanged.connect(self.refresh)
        self.refresh()

    def _set(self, **changes) -> None:
        self.session.update(optimizer=changes)

    def _step_size_edited(self) -> None:
        self._set(step_size=None if self.auto_step.isChecked() else self.step_size.value())

    def refresh(self) -> None:
        """Copy the optimiser settings, seed and device into the controls (emits nothing)."""
        experiment = self.session.experiment
        config, interior = experiment.optimizer, experiment.objective.kind in INTERIOR_KINDS
        form.select_data(self.method, config.method)
        form.select_data(self.schedule, config.schedule)
        if not form.select_data(self.device, experiment.device):  # e.g. a run recorded on another machine
            with form.blocked(self.device):
                self.device.addItem(experiment.device, experiment.device)
            form.select_data(self.device, experiment.device)
        for box, value in ((self.steps, config.steps), (self.restarts, config.restarts),
                           (self.random_start, config.random_start), (self.seed, experiment.seed),
                           (self.auto_step, config.step_size is None),
                           (self.step_size, config.resolved_step_size(interior))):
            form.set_value(box, value)
        self.step_size.setEnabled(config.step_size is not None)
