"""The session: the one object that holds what the user is looking at and doing. Widgets observe it.

It owns the scan, the slice, the experiment settings, the drawn regions, the live attack and the run history;
it starts work through :class:`JobRunner` and announces every change with a signal.
"""
from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass, field, replace

import numpy as np
from PySide6.QtCore import QObject, Signal

from ..core.attacks.run import AttackProblem, AttackResult, AttackStep
from ..core.experiment import Experiment, SourceConfig, adapt_to_scan, model_choice
from ..core.problem import build_problem, load_source
from ..core.scan import Scan
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
        self.slice_index = 0
        self.experiment = Experiment()
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
        self._open(replace(self.experiment.source, demo=name, path=None, slice=None, choices={}), adapt)

    def open_path(self, path: str, choices: dict | None = None, adapt: bool = True) -> None:
        """Open a scan; with ``adapt`` the acquisition follows its modality (CT → parallel beam + FBP)."""
        source = replace(self.experiment.source, demo=None, path=str(path), slice=None, choices=choices or {})
        self._open(source, adapt)

    def _open(self, source: SourceConfig, adapt: bool) -> None:
        experiment = replace(self.experiment, source=source)
        self.jobs.run(("scan", source, adapt), load_source, experiment)

    def _on_loaded(self, key, value) -> None:
        kind, payload = key[0], key[1]
        if kind == "scan":
            if key[2]:
                self.experiment = adapt_to_scan(self.experiment, value.modality, value.units,
                                                value.kspace is not None)
                self.settingsChanged.emit()
            self._set_scan(payload, value)
        elif kind == "preview" and payload == self._preview_key():
            self.preview = value
            self.previewReady.emit(value)

    def _set_scan(self, source: SourceConfig, scan: Scan) -> None:
        self.scan = scan
        self.experiment = replace(self.experiment, source=source)
        self.slice_index = scan.n_slices // 2
        self.regions.reset()
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
        self.experiment = replace(self.experiment, source=replace(self.experiment.source, slice=index))
        self.sliceChanged.emit(index)
        self.request_preview()

    # --- settings and regions ----------------------------------------------------------------------------
    def update(self, **sections) -> None:
        """Replace fields of experiment sections, e.g. ``update(threat={"eps": 0.02}, seed=3)``."""
        experiment = copy.deepcopy(self.experiment)
        sections = self._with_model_acquisition(sections)
        for name, changes in sections.items():
            if isinstance(changes, dict) and hasattr(getattr(experiment, name), "__dataclass_fields__"):
                setattr(experiment, name, replace(getattr(experiment, name), **changes))
            else:
                setattr(experiment, name, changes)
        if experiment.surrogate_conflict():
            experiment.surrogate = None  # a surrogate must read the same measurements and differ from f
        self.experiment = experiment
        self.settingsChanged.emit()
        if {"operator", "recon", "source", "device"} & set(sections):
            self.request_preview()

    @staticmethod
    def _with_model_acquisition(sections: dict) -> dict:
        """Picking a built-in model brings the acquisition it was trained for (kind, mask or angles, coils, noise)
        and its default transfer surrogate (usually none), except settings changed in the same update."""
        name = sections.get("recon", {}).get("name") if isinstance(sections.get("recon"), dict) else None
        choice = model_choice(name) if name else {}
        if not choice:
            return sections
        return {**sections, "operator": {**choice["operator"], **sections.get("operator", {})},
                "surrogate": sections.get("surrogate", choice["surrogate"])}

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
