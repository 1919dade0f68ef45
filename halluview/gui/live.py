"""Paints the run on screen into the image panels, and reports progress and ETA.

Steps arrive on the main thread through the session; images are repainted at most ``MAX_FPS`` times a second
(the latest step wins). The difference map's symmetric range follows the change as it grows
(:class:`~halluview.core.display.RunningScale`: a robust percentile of |Δ|, smoothed, never shrinking mid-run), so a
mid-run frame shows where the change is. A banner above the panels says what they show: the clean reconstruction
only, run #n while it runs (a transfer's surrogate), its result, or the same-size noise.
"""
from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from ..core.attacks.run import AttackStep
from ..core.display import RunningScale, format_eps
from ..core.geometry import display_frame
from .session import RunRecord, Session

MAX_FPS = 20
AWAITING_RUN = "Run ▶ to attack"


class LivePainter(QObject):
    """Connects the session's run signals to the image panels.

    Signals
    -------
    progress(int, int, str) : steps done, total, a status text (ETA, steps/s, realised ε).
    """

    progress = Signal(int, int, str)

    def __init__(self, session: Session, panels, parent: QObject | None = None):
        super().__init__(parent)
        self.session, self.panels = session, panels
        self.shown: RunRecord | None = None  # the run whose images are on screen (None: the clean preview)
        self._pending: AttackStep | None = None
        self._clean: np.ndarray | None = None  # what the running steps are measured against
        self._scale = RunningScale()
        self._started = 0.0
        self._timer = QTimer(self)
        self._timer.setInterval(int(1000 / MAX_FPS))
        self._timer.timeout.connect(self._flush)
        session.runStarted.connect(self._on_started)
        session.jobs.problemReady.connect(self._on_problem_ready)
        session.stepArrived.connect(self._on_step)
        session.runProgress.connect(self._on_progress)
        session.runEnded.connect(self._on_ended)
        session.previewReady.connect(self._on_preview)
        session.selectedRunChanged.connect(self.show_run)
        session.scanChanged.connect(self._on_new_images)
        session.sliceChanged.connect(self._on_new_images)

    # --- no run on screen --------------------------------------------------------------------------------
    def _on_new_images(self, *_) -> None:
        """Another scan or slice: what the panels show belongs to the old one until its preview arrives."""
        if self.session.jobs.attack_running:
            return
        self.shown = None
        self.panels.clear()
        self.panels.set_banner(None)
        self.panels.set_placeholder("Reconstructing…")

    def _on_preview(self, problem) -> None:
        if self.session.jobs.attack_running:
            return
        self.show_preview(problem)

    def show_preview(self, problem) -> None:
        """The clean reconstruction alone: nothing attacked is shown next to it."""
        self.shown = None
        self.panels.set_frame(display_frame(problem.config))
        clean = problem.clean[0].cpu().numpy()
        reference = None if problem.reference is None else problem.reference[0].cpu().numpy()
        self.panels.clear("perturbed", "difference", "extra")
        self.panels.set_images(clean=clean, extra=self._extra(reference, None))
        self.panels.set_placeholder(AWAITING_RUN, ("perturbed", "difference"))
        self.panels.set_banner("Clean reconstruction of the current settings — no attack on it yet.")

    def _extra(self, reference, perturbation):
        kind = self.panels.extra_panel()
        if kind == "reference":
            return reference
        if kind == "perturbation":
            return perturbation
        return None

    # --- a run in progress -------------------------------------------------------------------------------
    def _on_started(self, record: RunRecord) -> None:
        self.shown, self._pending, self._clean = record, None, None
        self._scale.reset()
        self._started = time.perf_counter()
        self._timer.start()
        self.panels.set_frame(display_frame(record.experiment))
        self.panels.set_region_mask(record.region)
        self.panels.set_placeholder("Preparing…", ("perturbed", "difference"))
        self.panels.set_banner(self._running_banner(record))
        optimizer = record.experiment["optimizer"]
        self.progress.emit(0, optimizer["steps"] * optimizer["restarts"], "preparing…")

    @staticmethod
    def _running_banner(record: RunRecord) -> str:
        surrogate = record.experiment.get("surrogate")
        if surrogate:
            return (f"Run #{record.number}, transfer: the perturbation is being found on {surrogate} (shown); "
                    f"{record.experiment['recon']['name']}'s response appears when the attack ends.")
        return f"Run #{record.number} — the attack is running."

    def _on_problem_ready(self, problem) -> None:
        """The clean image the steps are measured against: the surrogate's during a transfer."""
        shown = problem.surrogate or problem
        self._clean = shown.clean[0].cpu().numpy()
        if self.shown is not None:
            self.panels.set_images(clean=self._clean)

    def _on_step(self, payload) -> None:
        """A step of the run on screen: paint it at the next frame."""
        _, step = payload
        if step.perturbed is not None:
            self._pending = step

    def _on_progress(self, payload) -> None:
        """Every step of the running run, on screen or not: the progress bar and the status line."""
        record, step = payload
        elapsed = time.perf_counter() - self._started
        rate = step.step / max(step.elapsed_s, 1e-9)
        eta = (step.total - step.step) / rate if rate > 0 else 0.0
        surrogate = record.experiment.get("surrogate")
        through = f"transfer: optimising on {surrogate} · " if surrogate else ""
        self.progress.emit(step.step, step.total,
                           f"Run #{record.number} · {through}ETA {eta:.0f} s · {rate:.1f} steps/s · perturbation "
                           f"used: {self._eps_text(record, step.realised_eps)} · {elapsed:.0f} s")

    @staticmethod
    def _eps_text(record: RunRecord, value: float) -> str:
        threat = record.experiment["threat"]
        if threat["domain"] == "patch":
            return f"{value:.3g} (largest change of a pixel)"
        return format_eps(value, threat, plain=True)

    def _flush(self) -> None:
        step, self._pending = self._pending, None
        if step is None or self.shown is None or self.shown.status != "running":
            return
        self.panels.set_difference_limit(self._scale.update(step.difference))
        self.panels.set_images(clean=self._clean, perturbed=step.perturbed, difference=step.difference,
                               extra=self._extra(self.shown.reference, None))

    def _on_ended(self, record: RunRecord) -> None:
        self._flush()
        self._timer.stop()
        if record.result is not None:
            if record is self.session.selected:  # the user may be looking at another run meanwhile
                self.show_run(record)
            n = record.result.norms
            self.progress.emit(len(record.steps), len(record.steps),
                               f"Run #{record.number} "
                               f"{'(transfer) ' if record.experiment.get('surrogate') else ''}"
                               f"done in {record.result.seconds:.1f} s · perturbation used: "
                               f"{self._eps_text(record, n['realised_eps'])} · change of the reconstruction "
                               f"{n['recon_change_l2']:.4g} (noise of the same size: "
                               f"{n['noise_recon_change_l2_mean']:.4g})")
            return
        total = record.experiment["optimizer"]["steps"] * record.experiment["optimizer"]["restarts"]
        self.progress.emit(len(record.steps), max(total, 1), f"Run #{record.number} {record.status}")
        if record is self.shown:
            self.panels.set_banner(f"Run #{record.number} was {record.status} after {len(record.steps)} steps: "
                                   "its last step is shown; it has no result.")

    # --- a finished run ----------------------------------------------------------------------------------
    def show_run(self, record: RunRecord | None) -> None:
        """Show a finished run's final images (history clicks, end of a run); None: back to the clean preview."""
        if record is None:
            if self.session.preview is not None and not self.session.jobs.attack_running:
                self.show_preview(self.session.preview)
            return
        if record.result is None:
            return
        self.shown = record
        result = record.result
        difference = result.perturbed - result.clean
        self.panels.set_difference_limit(self._scale.final(difference))
        self.panels.set_frame(display_frame(record.experiment))
        self.panels.set_images(clean=result.clean, perturbed=result.perturbed, difference=difference,
                               extra=self._extra(record.reference, result.perturbation_image))
        self.panels.set_region_mask(record.region)
        surrogate = record.experiment.get("surrogate")
        how = f", transfer from {surrogate}" if surrogate else ""
        self.panels.set_banner(f"Run #{record.number}{how}: the worst case it found.")

    def show_noise(self, shown: bool) -> None:
        """In place of the attacked reconstruction, the one under random noise of the same size (and back)."""
        record = self.shown
        if record is None or record.result is None or record.result.noise_example is None:
            return
        if not shown:
            self.show_run(record)
            return
        result = record.result
        difference = result.noise_example - result.clean
        self.panels.set_images(perturbed=result.noise_example, difference=difference)
        self.panels.set_banner(f"Run #{record.number}: random noise of the same size as the attack, for "
                               "comparison (same colour scale).")
