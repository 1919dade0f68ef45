"""The session the app shows, as a Qt-free model: what is open, what is chosen, what ran, and what is on screen.

It holds the scan and its facts, the slice, the user's :class:`~halluview.core.choices.Choices` and the experiment
they give (through :func:`~halluview.core.choices.experiment_for`, as for the CLI), the drawn regions (with undo),
the display window, the runs, the run on screen (``selected``) and the preview's clean
:class:`~halluview.core.problem.Reconstruction`. Every change is announced on ``events`` (:mod:`halluview.core.events`);
the app's :class:`halluview.gui.session.Session` forwards them as Qt signals and runs the jobs the model asks for.

The rules of what a change resets live here:

* opening a scan resets the regions and their history, the window (to the scan's own), the preview, and the
  scan-dependent settings: a lesion's position and size, and its intensity unless both scans are in HU
  (:meth:`LesionSettings.for_new_scan`); a run still going is cancelled;
* every number on screen belongs to the images on screen: opening a scan, changing the slice, the acquisition, the
  reconstruction or the device leaves no run on screen (``selected`` None); selecting a run or starting one puts
  it on screen;
* changing the slice while a run goes cancels it (status "cancelled", the reason in its note); its late steps are
  dropped and the new slice is previewed when its job ends;
* a run reuses the preview's reconstruction when it was made for the same image, acquisition, model and device.
"""
from __future__ import annotations

import copy
import itertools
from dataclasses import replace
from pathlib import Path

import numpy as np

from .attacks.regions import region_mask
from .attacks.run import AttackProblem, AttackResult, AttackStep
from .attacks.threat import eps_in_mode, reference_size
from .choices import Choices, edited, experiment_for, opened
from .errors import APP, ExperimentError, message_for
from .events import EventGroup
from .experiment import Experiment
from .geometry import display_frame
from .problem import Reconstruction, reconstruction_key
from .region_stack import RegionStack
from .scan import Scan
from .session_records import CANCELLED, DONE, FAILED, OpenRequest, RunRecord, RunStart, SessionSnapshot
from .settings import LesionSettings, NoiseSettings, ScanFacts, WindowSettings
from .units import WORKING, UnitMap, unit_map


class SessionModel:
    """The session, Qt-free. See the module's docstring for its rules.

    Events (``model.events.<name>``, with their arguments)
    ------------------------------------------------------
    scan() · slice(index) · settings() · regions() · window(WindowSettings or None) · preview(Reconstruction) ·
    preview_needed() (the front end should call :meth:`preview_request` and run it) · run_started(RunRecord) ·
    step(RunRecord, AttackStep) (the run on screen only) · progress(RunRecord, AttackStep) (the running run) ·
    run_ended(RunRecord) · history() · selected_run(RunRecord or None) · cancel_requested(RunRecord) (the front end
    should stop its job) · error(message, details).
    """

    def __init__(self):
        self.events = EventGroup("scan", "slice", "settings", "regions", "window", "preview", "preview_needed",
                                 "run_started", "step", "progress", "run_ended", "history", "selected_run",
                                 "cancel_requested", "error")
        self.scan: Scan | None = None
        self.facts: ScanFacts | None = None
        self.slice_index = 0
        self.choices = Choices()
        self.experiment = experiment_for(None, self.choices)
        self.regions = RegionStack()
        self.window: WindowSettings | None = None
        self.runs: list[RunRecord] = []
        self.selected: RunRecord | None = None
        self.preview: Reconstruction | None = None
        self._numbers = itertools.count(1)
        self._running: RunRecord | None = None
        self._job_alive = False
        self._initial_region: dict | None = None

    def _error(self, error: BaseException | str, details: str = "") -> None:
        self.events.error.emit(error if isinstance(error, str) else message_for(error, APP), details)

    # --- opening a scan ----------------------------------------------------------------------------------------
    def open_request(self, source: dict, adapt: bool = True, initial_region: dict | None = None,
                     keep_settings: bool = False) -> OpenRequest | None:
        """What to load for ``source`` ({"demo": name} or {"path": ..., "choices": {...}}); None (and an error
        event) when the choices cannot load it. ``initial_region``: placed once, when the scan's first picture is
        ready, if nothing is drawn by then (the demo's circle)."""
        try:
            loading = experiment_for(None, replace(self.choices, source=dict(source)))
        except ExperimentError as err:
            self._error(err)
            return None
        return OpenRequest(dict(source), loading, adapt, keep_settings, initial_region)

    def restore_request(self, experiment: Experiment) -> OpenRequest | None:
        """Take every setting of a saved ``experiment`` as the user's choice, and the request that opens its scan
        with them unchanged. The permission to unpickle a checkpoint is not restored: the app asks again."""
        self.choices = Choices.of(experiment)
        self.experiment = experiment_for(None, self.choices)
        self.events.settings.emit()
        return self.open_request(dict(self.choices.source), adapt=False, keep_settings=True)

    def scan_loaded(self, scan: Scan, request: OpenRequest) -> bool:
        """The scan of ``request`` is read: apply it with the rules above. False (and an error event) when the
        choices do not fit it; nothing changes then."""
        facts = ScanFacts.of(scan)
        choices = opened(self.choices, request.source, facts, self.experiment.operator.kind, request.adapt)
        try:
            if not request.keep_settings and self.facts is not None:
                choices = _for_new_scan(choices, self.facts, facts)
            experiment = experiment_for(facts, choices)
            experiment.validate_settings()
        except ExperimentError as err:
            where = request.source.get("path") or f"demo:{request.source.get('demo')}"
            message = message_for(err, APP)
            self._error(message if Path(where).name in message else f"{where}: {message}")
            return False
        self._cancel_running("another scan was opened while it ran")
        self.scan, self.facts, self.choices, self.experiment = scan, facts, choices, experiment
        self.slice_index = experiment.source.slice or 0
        self.regions.reset()
        self.window, self.preview, self._initial_region = WindowSettings.of_scan(scan), None, request.initial_region
        self.events.settings.emit()
        self.events.scan.emit()
        self.events.regions.emit()
        self.events.window.emit(self.window)
        self._select(None)
        self.events.slice.emit(self.slice_index)
        self.events.preview_needed.emit()
        return True

    # --- the slice, the settings and the regions -------------------------------------------------------------
    def set_slice(self, index: int, force: bool = False) -> None:
        """Show slice ``index`` (clamped to the scan); a run still going is cancelled."""
        if self.scan is None:
            return
        index = int(np.clip(index, 0, self.scan.n_slices - 1))
        if index == self.slice_index and not force:
            return
        self._cancel_running(f"the slice changed to {index} while it ran")
        self.slice_index = index
        self.choices.source["slice"] = index
        self.experiment = replace(self.experiment, source=replace(self.experiment.source, slice=index))
        self._select(None)
        self.events.slice.emit(index)
        self.events.preview_needed.emit()

    def update(self, **sections) -> bool:
        """Apply the user's edit, e.g. ``update(threat={"eps": 0.02}, seed=3)``, through the core's rules (a
        built-in model brings its acquisition; every setting is checked as the CLI checks it). Typed settings
        (:class:`NoiseSettings`, :class:`LesionSettings`, recon params) may stand for their dicts. A refused edit
        is an error event and changes nothing. Returns whether it was applied."""
        try:
            choices = edited(self.choices, self.experiment.operator.kind, **_plain(sections))
            experiment = experiment_for(self.facts, choices)
            experiment.validate_settings()
        except ExperimentError as err:
            self._error(err)
            self.events.settings.emit()  # the panels show the settings that stand
            return False
        before = reconstruction_key(self.experiment)
        self.choices, self.experiment = choices, experiment
        self.events.settings.emit()
        if reconstruction_key(experiment) != before:
            self._select(None)
            self.events.preview_needed.emit()
        return True

    def set_noise(self, noise: NoiseSettings | None) -> bool:
        """The acquisition's noise (None: none)."""
        return self.update(operator={"noise": (noise or NoiseSettings()).to_dict()})

    def set_lesion(self, lesion: LesionSettings) -> bool:
        """The lesion an insert objective paints."""
        return self.update(objective={"lesion": lesion.to_dict()})

    def lesion(self) -> LesionSettings:
        return LesionSettings.from_dict(self.experiment.objective.lesion)

    def unit_map(self) -> UnitMap:
        """The mapping between this slice's units (HU for CT) and the working units (:mod:`halluview.core.units`);
        the identity before a scan is open."""
        if self.scan is None:
            return WORKING
        return unit_map(self.scan.slice_image(self.slice_index), self.scan.units)

    def lesion_intensity_in_scan_units(self) -> float | None:
        """The lesion's intensity in the scan's units (HU for CT) on this slice; None: automatic."""
        value = self.lesion().intensity
        return None if value is None else float(self.unit_map().to_scan(value))

    def set_lesion_intensity(self, value: float | None, in_scan_units: bool = True) -> bool:
        """Set the lesion's intensity (None: automatic), given in the scan's units (HU for CT) or working units."""
        if value is not None and in_scan_units:
            value = float(self.unit_map().to_working(value))
        return self.set_lesion(replace(self.lesion(), intensity=value))

    def reference_size(self) -> float | None:
        """‖y‖ (‖x‖ for image threats) of the preview in the threat's norm: what a relative ε is a fraction of."""
        if self.preview is None:
            return None
        return reference_size(self.experiment.threat, self.preview.y, self.preview.x_true)

    def set_eps_mode(self, mode: str) -> bool:
        """Switch ε between "relative" and "absolute", keeping the same budget when the preview's size is known."""
        threat = self.experiment.threat
        eps = eps_in_mode(threat.eps, threat.eps_mode, mode, self.reference_size())
        return self.update(threat={"eps_mode": mode, "eps": eps})

    def set_window(self, window: WindowSettings | None) -> None:
        """The grey window in the scan's units (None: fit the image)."""
        self.window = window
        self.events.window.emit(window)

    def display_levels(self) -> tuple[float, float] | None:
        """The window as (low, high) in the working units the panels show; None: fit the image."""
        if self.window is None or self.scan is None:
            return None
        units = self.unit_map()
        return float(units.to_working(self.window.low)), float(units.to_working(self.window.high))

    def regions_edited(self) -> None:
        """Call after changing ``self.regions`` (draw, move, delete, undo, redo)."""
        self.events.regions.emit()

    def image_shape(self) -> tuple[int, int] | None:
        """The pixel grid regions are drawn on: the scan's own (also when a working size was chosen), or the
        reconstruction's (a fastMRI file's recon size); None before the first picture."""
        if self.preview is None:
            return None
        return display_frame(self.experiment.to_dict()) or tuple(self.preview.clean.shape[-2:])

    def run_experiment(self) -> Experiment:
        """The settings plus the drawn region: exactly what a run records (and the CLI could repeat)."""
        shape = self.image_shape()
        region = self.regions.combined(shape) if shape else None
        return replace(copy.deepcopy(self.experiment), region=region)

    # --- the preview -------------------------------------------------------------------------------------------
    def preview_key(self) -> tuple:
        return reconstruction_key(self.experiment)

    def preview_request(self) -> tuple[tuple, Experiment] | None:
        """(key, experiment) of the clean reconstruction to compute now; None when there is no scan, the preview
        on hand fits the settings, or a run's job owns the device (the preview follows when it ends)."""
        if self.scan is None or self._job_alive:
            return None
        key = self.preview_key()
        if self.preview is not None and self.preview.key == key:
            return None
        return key, replace(copy.deepcopy(self.experiment), region=None)

    def preview_ready(self, reconstruction: Reconstruction) -> bool:
        """A preview job's result: taken when it fits the current settings (an older one is dropped)."""
        if self.scan is None or reconstruction.key != self.preview_key():
            return False
        self.preview = reconstruction
        self._place_initial_region()
        self.events.preview.emit(reconstruction)
        return True

    def _place_initial_region(self) -> None:
        shape, self._initial_region = self._initial_region, None
        if shape is None or self.regions.shapes:
            return
        try:
            region_mask(shape, self.image_shape())
        except ValueError:  # it does not fit this image
            return
        self.regions.reset([shape])
        self.events.regions.emit()

    # --- runs ------------------------------------------------------------------------------------------------------
    def start_run(self) -> RunStart:
        """Record a new run and put it on screen; raises ExperimentError when the settings cannot run, RuntimeError
        when a run's job still runs."""
        if self._job_alive:
            raise RuntimeError("an attack is already running")
        if self.scan is None:
            raise ExperimentError("no scan is open")
        experiment = self.run_experiment()
        experiment.validate()
        record = RunRecord(next(self._numbers), experiment.to_dict())
        if self.preview is not None:
            record.region = self.regions.mask(self.image_shape())
        reuse = self.preview if self.preview is not None and self.preview.key == reconstruction_key(experiment) \
            else None
        self.runs.append(record)
        self._running, self._job_alive = record, True
        self.events.run_started.emit(record)
        self.events.history.emit()
        self._select(record)
        return RunStart(record, experiment, reuse)

    def current_run(self) -> RunRecord | None:
        """The run whose job is going, if any."""
        return self._running

    def run_problem_ready(self, problem: AttackProblem) -> None:
        record = self._running
        if record is not None:
            record.clean = problem.clean[0].cpu().numpy()
            record.reference = None if problem.reference is None else problem.reference[0].cpu().numpy()

    def run_step(self, step: AttackStep) -> None:
        record = self._running
        if record is None or record.stop_requested:
            return
        record.steps.append(step.summary())
        record.last_step = step
        self.events.progress.emit(record, step)
        if record is self.selected:
            self.events.step.emit(record, step)

    def run_finished(self, result: AttackResult | None) -> None:
        """The job returned: its result, or None when it was stopped."""
        record, self._running = self._running, None
        if record is None:
            return
        if result is None or record.stop_requested:
            record.status, record.result = CANCELLED, None
            record.note = record.note or "stopped before it finished"
        else:
            record.status, record.result = DONE, result
        self.events.run_ended.emit(record)
        self.events.history.emit()

    def run_failed(self, message: str, details: str = "") -> None:
        record, self._running = self._running, None
        if record is not None:
            record.status, record.note = FAILED, message
            self.events.run_ended.emit(record)
            self.events.history.emit()
        self._error(message, details)

    def job_ended(self) -> None:
        """The run's job is over and the device free: a preview the settings need now follows."""
        self._job_alive = False
        self.events.preview_needed.emit()

    def cancel_run(self, reason: str = "stopped by the user") -> None:
        """Stop the run that is going (the front end stops its job at the next step)."""
        self._cancel_running(reason)

    def _cancel_running(self, reason: str) -> None:
        record = self._running
        if record is None or record.stop_requested:
            return
        record.stop_requested, record.note = True, reason
        self.events.cancel_requested.emit(record)

    def select_run(self, record: RunRecord | None) -> None:
        """Put ``record`` on screen (None: no run, the preview)."""
        self.selected = record
        self.events.selected_run.emit(record)

    _select = select_run

    # --- presentation mode: leave the session and come back to it ----------------------------------------------
    def snapshot(self) -> SessionSnapshot:
        """The user's session as it is now (settings, scan, slice, regions, window, runs, the run on screen)."""
        return SessionSnapshot(copy.deepcopy(self.choices), self.scan, self.slice_index, self.regions.copy(),
                               self.window, tuple(self.runs), self.selected)

    def restore_snapshot(self, snapshot: SessionSnapshot) -> None:
        """Come back to ``snapshot``: a run still going is cancelled; nothing is read again."""
        self._cancel_running("the session it ran in was left")
        source_now, self.choices = self.choices.source, copy.deepcopy(snapshot.choices)
        if snapshot.scan is not None:
            self.scan, self.facts = snapshot.scan, ScanFacts.of(snapshot.scan)
            self.slice_index = snapshot.slice_index
        elif self.scan is not None:  # nothing was open then: keep what is open now, with the settings of then
            self.choices.source = source_now
        self.experiment = experiment_for(self.facts, self.choices)
        self.regions, self.window = snapshot.regions.copy(), snapshot.window
        self.runs, self.preview, self._initial_region = list(snapshot.runs), None, None
        for event in (self.events.settings, self.events.scan, self.events.regions, self.events.history):
            event.emit()
        self.events.window.emit(self.window)
        self.events.slice.emit(self.slice_index)
        self.select_run(snapshot.selected)
        self.events.preview_needed.emit()


def _for_new_scan(choices: Choices, old: ScanFacts, new: ScanFacts) -> Choices:
    """The scan-dependent choices made for scan ``old``, as they hold for scan ``new`` (the lesion)."""
    if "lesion" not in choices.objective:
        return choices
    lesion = LesionSettings.from_dict(choices.objective["lesion"]).for_new_scan(old.units, new.units)
    return replace(choices, objective={**choices.objective, "lesion": lesion.to_dict()})


def _plain(sections: dict) -> dict:
    """Typed settings in an edit as the dicts the experiment records (a NoiseSettings, LesionSettings or
    ReconParams where a section holds noise, a lesion or params)."""
    plain = {}
    for name, values in sections.items():
        if isinstance(values, dict):
            values = {k: v.to_dict() if hasattr(v, "to_dict") else v for k, v in values.items()}
        plain[name] = values
    return plain
