"""The session: the one object that holds what the user is looking at and doing. Widgets observe it.

It owns the scan, the slice, the user's choices and the experiment they give (through the same core function as
the CLI: :func:`halluview.core.choices.experiment_for`), the drawn regions, the live attack and the run history;
it starts work through :class:`JobRunner` and announces every change with a signal. An edit that the core's
checks refuse (the same rules and messages as the CLI) is reported through ``errorOccurred`` and not applied.
"""
from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal

from ..core.attacks.run import AttackProblem, AttackResult, AttackStep
from ..core.choices import Choices, edited, experiment_for, opened
from ..core.experiment import Experiment, ScanFacts
from ..core.problem import build_problem, load_source
from ..core.scan import Scan
from ..core.validation import ExperimentError
from .regions import RegionStack
from .worker import JobRunner


@dataclass
class RunRecord:
    """One attack of this session: its configuration, its live steps and, once done, its result."""

    number: int
    experiment: dict
    status: str = "running"  # running, done, cancelled, failed
    steps: list[dict] = field(default_factory=list)
    result: AttackResult | None = None
    clean: np.ndarray | None = None
    reference: np.ndarray | None = None
    region: np.ndarray | None = None
    last_step: AttackStep | None = None

    @property
    def label(self) -> str:
        cfg = self.experiment
        threat = cfg["threat"]
        eps = f"{threat['eps'] * 100:g} %" if threat["eps_mode"] == "relative" else f"{threat['eps']:g}"
        return (f"#{self.number} {cfg['recon']['name']} · {threat['norm'].upper()} ε {eps} · "
                f"{cfg['objective']['kind']} · {self.status}")


class Session(QObject):
    scanChanged = Signal()
    sliceChanged = Signal(int)
    settingsChanged = Signal()
    regionsChanged = Signal()
    previewReady = Signal(object)  # AttackProblem: clean reconstruction for the current settings
    runStarted = Signal(object)  # RunRecord
    stepArrived = Signal(object)  # (RunRecord, AttackStep)
    runEnded = Signal(object)  # RunRecord
    historyChanged = Signal()
    selectedRunChanged = Signal(object)  # RunRecord or None
    busyChanged = Signal(bool)
    errorOccurred = Signal(str, str)  # message, details

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.scan: Scan | None = None
        self.facts: ScanFacts | None = None
        self.slice_index = 0
        self.choices = Choices()
        self.experiment = experiment_for(None, self.choices)
        self.regions = RegionStack()
        self.runs: list[RunRecord] = []
        self.selected: RunRecord | None = None
        self.preview: AttackProblem | None = None
        self._numbers = itertools.count(1)
        self._preview_pending = False
        self.jobs = JobRunner(self)
        self.jobs.loaded.connect(self._on_loaded)
        self.jobs.problemReady.connect(self._on_problem_ready)
        self.jobs.step.connect(self._on_step)
        self.jobs.finished.connect(self._on_finished)
        self.jobs.failed.connect(self._on_failed)
        self.jobs.busyChanged.connect(self.busyChanged)
        self.jobs.busyChanged.connect(self._on_busy_changed)

    # --- the scan ----------------------------------------------------------------------------------------
    def open_sample(self, name: str, adapt: bool = True) -> None:
        self._open({"demo": name}, adapt)

    def open_path(self, path: str, choices: dict | None = None, adapt: bool = True) -> None:
        """Open a scan; with ``adapt`` the acquisition follows its modality (CT → parallel beam + FBP)."""
        self._open({"path": str(path), "choices": dict(choices or {})}, adapt)

    def restore(self, experiment: Experiment) -> None:
        """Take every setting of a saved ``experiment`` as the user's choice and open its scan unchanged. The
        permission to unpickle a checkpoint is not restored: the app asks again (see ModelPanel)."""
        self.choices = Choices.of(experiment)
        self.experiment = experiment_for(None, self.choices)
        self.settingsChanged.emit()
        self._open(dict(self.choices.source), adapt=False)  # its slice and image size included

    def _open(self, source: dict, adapt: bool) -> None:
        try:
            loading = experiment_for(None, replace(self.choices, source=source))
        except ExperimentError as err:
            self.errorOccurred.emit(str(err), "")
            return
        self.jobs.run(("scan", source, adapt), load_source, loading)

    def _on_loaded(self, key, value) -> None:
        kind, payload = key[0], key[1]
        if kind == "scan":
            self._set_scan(value, payload, key[2])
        elif kind == "preview" and payload == self._preview_key():
            self.preview = value
            self.previewReady.emit(value)

    def _set_scan(self, scan: Scan, source: dict, adapt: bool) -> None:
        """The opened scan, with the experiment the choices give for it (the acquisition adapted if asked)."""
        facts = ScanFacts.of(scan)
        choices = opened(self.choices, source, facts, self.experiment.operator.kind, adapt)
        try:
            experiment = experiment_for(facts, choices)
            experiment.validate_settings()
        except ExperimentError as err:
            where = source.get("path") or f"demo:{source.get('demo')}"
            self.errorOccurred.emit(str(err) if Path(where).name in str(err) else f"{where}: {err}", "")
            return
        self.scan, self.facts, self.choices, self.experiment = scan, facts, choices, experiment
        self.slice_index = experiment.source.slice or 0
        self.regions.reset()
        self.settingsChanged.emit()
        self.scanChanged.emit()
        self.regionsChanged.emit()
        self.set_slice(self.slice_index, force=True)

    def set_slice(self, index: int, force: bool = False) -> None:
        if self.scan is None:
            return
        index = int(np.clip(index, 0, self.scan.n_slices - 1))
        if index == self.slice_index and not force:
            return
        self.slice_index = index
        self.choices.source["slice"] = index
        self.experiment = replace(self.experiment, source=replace(self.experiment.source, slice=index))
        self.sliceChanged.emit(index)
        self.request_preview()

    # --- settings and regions ----------------------------------------------------------------------------
    def update(self, **sections) -> bool:
        """Apply the user's edit, e.g. ``update(threat={"eps": 0.02}, seed=3)``, through the core's rules (a
        built-in model brings its acquisition; every setting is checked as the CLI checks it). A refused edit is
        reported with ``errorOccurred`` and changes nothing. Returns whether it was applied."""
        try:
            choices = edited(self.choices, self.experiment.operator.kind, **sections)
            experiment = experiment_for(self.facts, choices)
            experiment.validate_settings()
        except ExperimentError as err:
            self.errorOccurred.emit(str(err), "")
            self.settingsChanged.emit()  # the panels show the settings that stand
            return False
        self.choices, self.experiment = choices, experiment
        self.settingsChanged.emit()
        if {"operator", "recon", "source", "device"} & set(sections):
            self.request_preview()
        return True

    def regions_edited(self) -> None:
        """Call after changing ``self.regions`` (draw, move, delete, undo, redo)."""
        self.regionsChanged.emit()

    def image_shape(self) -> tuple[int, int] | None:
        return None if self.preview is None else tuple(self.preview.clean.shape[-2:])

    def run_experiment(self) -> Experiment:
        """The settings plus the drawn region: exactly what a run records (and the CLI could repeat)."""
        shape = self.image_shape()
        region = self.regions.combined(shape) if shape else None
        return replace(copy.deepcopy(self.experiment), region=region)

    # --- preview and attack ------------------------------------------------------------------------------
    def _preview_key(self):
        e = self.experiment
        return (repr(e.source), repr(e.operator), repr(e.recon), e.device)

    def request_preview(self) -> None:
        """Rebuild the clean reconstruction for the current settings (in the background)."""
        if self.scan is None:
            return
        if self.jobs.attack_running:  # one job on the device at a time: rebuild when the attack ends
            self._preview_pending = True
            return
        self._preview_pending = False
        experiment = replace(copy.deepcopy(self.experiment), region=None)
        experiment.objective = replace(experiment.objective, kind="untargeted")
        experiment.threat = replace(experiment.threat, domain="measurement")
        self.jobs.run(("preview", self._preview_key()), build_problem, experiment, self.scan)

    def start_attack(self) -> RunRecord:
        experiment = self.run_experiment()
        experiment.validate()
        record = RunRecord(next(self._numbers), experiment.to_dict())
        if self.preview is not None:
            record.region = self.regions.mask(self.image_shape())
        self.runs.append(record)
        self.selected = record
        self.jobs.start_attack(experiment, self.scan)
        self.runStarted.emit(record)
        self.historyChanged.emit()
        return record

    def current_run(self) -> RunRecord | None:
        """The run in progress, if any."""
        running = [r for r in self.runs if r.status == "running"]
        return running[-1] if running else None

    def _on_problem_ready(self, problem: AttackProblem) -> None:
        record = self.current_run()
        if record is not None:
            record.clean = problem.clean[0].cpu().numpy()
            record.reference = None if problem.reference is None else problem.reference[0].cpu().numpy()

    def _on_step(self, step: AttackStep) -> None:
        record = self.current_run()
        if record is not None:
            record.steps.append(step.summary())
            record.last_step = step
            self.stepArrived.emit((record, step))

    def _on_finished(self, result: AttackResult | None) -> None:
        record = self.current_run()
        if record is None:
            return
        record.status, record.result = ("done", result) if result is not None else ("cancelled", None)
        self.runEnded.emit(record)
        self.historyChanged.emit()

    def _on_failed(self, message: str, details: str) -> None:
        record = self.current_run()
        if record is not None:
            record.status = "failed"
            self.runEnded.emit(record)
            self.historyChanged.emit()
        self.errorOccurred.emit(message, details)

    def _on_busy_changed(self, busy: bool) -> None:
        if not busy and self._preview_pending:
            self.request_preview()

    def select_run(self, record: RunRecord | None) -> None:
        self.selected = record
        self.selectedRunChanged.emit(record)
