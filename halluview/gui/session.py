"""The app's session: a thin Qt adapter around the Qt-free :class:`~halluview.core.session.SessionModel`.

Every rule (what opening a scan, changing the slice or picking a model resets; which run is on screen; when a
preview is due) lives in the model and is tested without Qt. This class forwards the model's events as Qt signals
for the widgets, and runs the jobs the model asks for through :class:`JobRunner` (loading scans, previews, the
attack), feeding their results back to the model. An edit that the core's checks refuse (the same rules and
messages as the CLI) is reported through ``errorOccurred`` and not applied.
"""
from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from ..core.errors import APP, ExperimentError, message_for
from ..core.experiment import Experiment
from ..core.problem import clean_preview, load_source
from ..core.session import SessionModel
from ..core.session_records import OpenRequest, RunRecord, SessionSnapshot
from ..core.settings import LesionSettings, NoiseSettings, WindowSettings
from ..core.units import UnitMap
from .worker import JobRunner

__all__ = ["RunRecord", "Session"]



def _state(name: str) -> property:
    """The model's attribute ``name``, read and written through the adapter."""
    return property(lambda self: getattr(self.model, name), lambda self, value: setattr(self.model, name, value),
                    doc=f"The model's ``{name}``.")


class Session(QObject):
    """The session the widgets observe. Its state is the model's (``session.model``); see the signals below.

    Signals
    -------
    scanChanged() · sliceChanged(int) · settingsChanged() · regionsChanged() · windowChanged(object: WindowSettings
    or None, in the scan's units) · previewReady(object: Reconstruction, the clean image for the settings) ·
    runStarted(object: RunRecord) · stepArrived(object: (RunRecord, AttackStep), the run on screen only) ·
    runProgress(object: (RunRecord, AttackStep), the running run) · runEnded(object: RunRecord) · historyChanged() ·
    selectedRunChanged(object: RunRecord or None, the run on screen) · busyChanged(bool) · errorOccurred(str, str) ·
    adaptProgress(int, int, float: a preview's test-time training step, of steps, loss; sent from the worker)
    """

    scanChanged = Signal()
    sliceChanged = Signal(int)
    settingsChanged = Signal()
    regionsChanged = Signal()
    windowChanged = Signal(object)
    previewReady = Signal(object)
    runStarted = Signal(object)
    stepArrived = Signal(object)
    runProgress = Signal(object)
    runEnded = Signal(object)
    historyChanged = Signal()
    selectedRunChanged = Signal(object)
    busyChanged = Signal(bool)
    errorOccurred = Signal(str, str)
    adaptProgress = Signal(int, int, float)

    def __init__(self, parent: QObject | None = None, model: SessionModel | None = None):
        super().__init__(parent)
        self.model = model or SessionModel()
        self._previews_in_flight: set = set()
        self.jobs = JobRunner(self)
        self.jobs.loaded.connect(self._on_loaded)
        self.jobs.jobFailed.connect(self._on_job_failed)
        self.jobs.problemReady.connect(self.model.run_problem_ready)
        self.jobs.step.connect(self.model.run_step)
        self.jobs.finished.connect(self.model.run_finished)
        self.jobs.attackFailed.connect(self.model.run_failed)
        self.jobs.busyChanged.connect(self.busyChanged)
        self.jobs.busyChanged.connect(self._on_busy_changed)
        self._forward_events()

    def _forward_events(self) -> None:
        events = self.model.events
        events.scan.connect(self.scanChanged.emit)
        events.slice.connect(self.sliceChanged.emit)
        events.settings.connect(self.settingsChanged.emit)
        events.regions.connect(self.regionsChanged.emit)
        events.window.connect(self.windowChanged.emit)
        events.preview.connect(self.previewReady.emit)
        events.run_started.connect(self.runStarted.emit)
        events.step.connect(lambda record, step: self.stepArrived.emit((record, step)))
        events.progress.connect(lambda record, step: self.runProgress.emit((record, step)))
        events.run_ended.connect(self.runEnded.emit)
        events.history.connect(self.historyChanged.emit)
        events.selected_run.connect(self.selectedRunChanged.emit)
        events.error.connect(self.errorOccurred.emit)
        events.preview_needed.connect(lambda: self.request_preview())  # looked up late: tests replace it
        events.cancel_requested.connect(lambda _record: self.jobs.cancel())

    scan = _state("scan")
    facts = _state("facts")
    slice_index = _state("slice_index")
    choices = _state("choices")
    experiment = _state("experiment")
    regions = _state("regions")
    window = _state("window")
    runs = _state("runs")
    selected = _state("selected")
    preview = _state("preview")

    # --- the scan ----------------------------------------------------------------------------------------------
    def open_sample(self, name: str, adapt: bool = True, initial_region: dict | None = None) -> None:
        """Open a built-in example. ``initial_region``: placed once when its first picture is ready, if nothing is
        drawn by then (the demo's circle; a later Clear stays cleared)."""
        self._open(self.model.open_request({"demo": name}, adapt, initial_region))

    def open_path(self, path: str, choices: dict | None = None, adapt: bool = True,
                  initial_region: dict | None = None) -> None:
        """Open a scan; with ``adapt`` the acquisition follows its modality (CT → parallel beam + FBP)."""
        self._open(self.model.open_request({"path": str(path), "choices": dict(choices or {})}, adapt,
                                           initial_region))

    def restore(self, experiment: Experiment) -> None:
        """Take every setting of a saved ``experiment`` as the user's choice and open its scan unchanged. The
        permission to unpickle a checkpoint is not restored: the app asks again (see ModelPanel)."""
        self._open(self.model.restore_request(experiment))

    def _open(self, request: OpenRequest | None) -> None:
        if request is not None:
            self.jobs.run(("scan", request), load_source, request.loading)

    def _on_loaded(self, key, value) -> None:
        kind, payload = key[0], key[1]
        if kind == "scan":
            self.model.scan_loaded(value, payload)
        elif kind == "preview":
            self._previews_in_flight.discard(payload)
            self.model.preview_ready(value)

    def _on_job_failed(self, key, message: str, details: str) -> None:
        if isinstance(key, tuple) and key and key[0] == "preview":
            self._previews_in_flight.discard(key[1])
        self.errorOccurred.emit(message, details)

    def set_slice(self, index: int, force: bool = False) -> None:
        self.model.set_slice(index, force)

    # --- settings and regions ------------------------------------------------------------------------------------
    def update(self, **sections) -> bool:
        """Apply the user's edit, e.g. ``update(threat={"eps": 0.02}, seed=3)`` (see SessionModel.update)."""
        return self.model.update(**sections)

    def regions_edited(self) -> None:
        """Call after changing ``self.regions`` (draw, move, delete, undo, redo)."""
        self.model.regions_edited()

    def image_shape(self) -> tuple[int, int] | None:
        return self.model.image_shape()

    def run_experiment(self) -> Experiment:
        """The settings plus the drawn region: exactly what a run records (and the CLI could repeat)."""
        return self.model.run_experiment()

    def set_window(self, window: WindowSettings | None) -> None:
        """The grey window in the scan's units (None: fit the image); announced by ``windowChanged``."""
        self.model.set_window(window)

    def display_levels(self) -> tuple[float, float] | None:
        """The window as (low, high) in the working units the image panels show; None: fit the image."""
        return self.model.display_levels()

    def set_noise(self, noise: NoiseSettings | None) -> bool:
        return self.model.set_noise(noise)

    def set_lesion(self, lesion: LesionSettings) -> bool:
        return self.model.set_lesion(lesion)

    def unit_map(self) -> UnitMap:
        """This slice's units (HU for CT) ↔ working units: ``.label``, ``.to_scan()``, ``.to_working()``."""
        return self.model.unit_map()

    def lesion_intensity_in_scan_units(self) -> float | None:
        """The lesion's intensity in the scan's units (HU for CT); None: automatic."""
        return self.model.lesion_intensity_in_scan_units()

    def set_lesion_intensity(self, value: float | None, in_scan_units: bool = True) -> bool:
        """The lesion's intensity (None: automatic), in the scan's units (HU for CT) unless told otherwise."""
        return self.model.set_lesion_intensity(value, in_scan_units)

    def reference_size(self) -> float | None:
        """‖y‖ (‖x‖ for image threats) of the preview: what a relative ε is a fraction of; None if unknown."""
        return self.model.reference_size()

    def set_eps_mode(self, mode: str) -> bool:
        """ε relative or absolute, keeping the same budget when the preview's size is known."""
        return self.model.set_eps_mode(mode)

    def snapshot(self) -> SessionSnapshot:
        """The user's session, to :meth:`restore_snapshot` later (presentation mode)."""
        return self.model.snapshot()

    def restore_snapshot(self, snapshot: SessionSnapshot) -> None:
        """Back to a :meth:`snapshot`; a run still going is cancelled first."""
        self.model.restore_snapshot(snapshot)

    # --- preview and attack ------------------------------------------------------------------------------------
    def request_preview(self) -> None:
        """Compute the clean reconstruction the settings need, in the background, unless it is on hand, on its
        way, or an attack owns the device (it follows when the attack ends)."""
        request = self.model.preview_request()
        if request is None or request[0] in self._previews_in_flight:
            return
        key, experiment = request
        self._previews_in_flight.add(key)
        self.jobs.run(("preview", key), clean_preview, experiment, self.model.scan, self.adaptProgress.emit)

    def start_attack(self) -> RunRecord:
        """Start a run of the current settings and region (reusing the preview's reconstruction when it fits);
        raises ExperimentError (a ValueError) when they cannot run."""
        try:
            start = self.model.start_run()
        except ExperimentError as err:
            raise ExperimentError(message_for(err, APP)) from None
        self.jobs.start_attack(start.experiment, self.model.scan, start.reuse)
        return start.record

    def cancel_run(self) -> None:
        """Stop the run that is going (Esc)."""
        self.model.cancel_run()

    def current_run(self) -> RunRecord | None:
        """The run in progress, if any."""
        return self.model.current_run()

    def _on_busy_changed(self, busy: bool) -> None:
        if not busy:
            self.model.job_ended()

    def select_run(self, record: RunRecord | None) -> None:
        self.model.select_run(record)
