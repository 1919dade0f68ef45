"""Paints a running (or selected) attack into the image panels, and reports progress and ETA.

Steps arrive on the main thread through the session; images are repainted at most ``MAX_FPS`` times a second
(the latest step wins). The difference map's range is fixed per run: no flicker. The metrics panel follows the
session by itself.
"""
from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from ..core.attacks.run import AttackStep
from .session import RunRecord, Session

MAX_FPS = 20


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
        self._pending: AttackStep | None = None
        self._limit: float | None = None
        self._started = 0.0
        self._timer = QTimer(self)
        self._timer.setInterval(int(1000 / MAX_FPS))
        self._timer.timeout.connect(self._flush)
        session.runStarted.connect(self._on_started)
        session.stepArrived.connect(self._on_step)
        session.runEnded.connect(self._on_ended)
        session.previewReady.connect(self._on_preview)
        session.selectedRunChanged.connect(self.show_run)

    def _on_preview(self, problem) -> None:
        if self.session.jobs.attack_running:
            return
        clean = problem.clean[0].cpu().numpy()
        reference = None if problem.reference is None else problem.reference[0].cpu().numpy()
        self.panels.set_images(clean=clean, perturbed=clean, difference=np.zeros_like(clean),
                               extra=self._extra(reference, None))

    def _extra(self, reference, perturbation):
        kind = self.panels.extra_panel()
        if kind == "reference":
            return reference
        if kind == "perturbation":
            return perturbation
        return None

    def _on_started(self, record: RunRecord) -> None:
        self._limit, self._pending, self._started = None, None, time.perf_counter()
        self._timer.start()
        self.progress.emit(0, record.experiment["optimizer"]["steps"] * record.experiment["optimizer"]["restarts"],
                           "preparing…")

    def _on_step(self, payload) -> None:
        record, step = payload
        if step.perturbed is not None:
            self._pending = step
        elapsed = time.perf_counter() - self._started
        rate = step.step / max(step.elapsed_s, 1e-9)
        eta = (step.total - step.step) / rate if rate > 0 else 0.0
        surrogate = record.experiment.get("surrogate")
        through = f"transfer: optimising on {surrogate}, shown until the end · " if surrogate else ""
        self.progress.emit(step.step, step.total, f"{through}ETA {eta:.0f} s · {rate:.1f} steps/s · "
                                                  f"realised ε = {self._eps_text(record, step.realised_eps)}"
                                                  f" · {elapsed:.0f} s")

    @staticmethod
    def _eps_text(record: RunRecord, value: float) -> str:
        threat = record.experiment["threat"]
        if threat["domain"] == "patch":
            return f"{value:.3g} (|δ|max)"
        return f"{value * 100:.3g} % ‖y‖" if threat["eps_mode"] == "relative" else f"{value:.4g}"

    def _flush(self) -> None:
        step, self._pending = self._pending, None
        if step is None:
            return
        record = self.session.current_run() or self.session.selected
        if self._limit is None:  # fixed for the run: the first visible change sets the scale
            self._limit = max(float(np.abs(step.difference).max()) * 2.0, 1e-6)
            self.panels.set_difference_limit(self._limit)
        reference = record.reference if record is not None else None
        clean = record.clean if record is not None else None
        self.panels.set_images(clean=clean, perturbed=step.perturbed, difference=step.difference,
                               extra=self._extra(reference, None))

    def _on_ended(self, record: RunRecord) -> None:
        self._flush()
        self._timer.stop()
        if record.result is not None:
            self.show_run(record)
            n = record.result.norms
            self.progress.emit(len(record.steps), len(record.steps),
                               f"{'transfer ' if record.experiment.get('surrogate') else ''}"
                               f"done in {record.result.seconds:.1f} s · realised ε = "
                               f"{self._eps_text(record, n['realised_eps'])} · ‖f(y+δ) − f(y)‖ = "
                               f"{n['recon_change_l2']:.4g} (noise {n['noise_recon_change_l2_mean']:.4g})")
        else:
            self.progress.emit(len(record.steps), max(len(record.steps), 1), record.status)

    def show_run(self, record: RunRecord | None) -> None:
        """Show a finished run's final images and numbers (history clicks, end of a run)."""
        if record is None or record.result is None:
            return
        result = record.result
        difference = result.perturbed - result.clean
        limit = max(float(np.abs(difference).max()), 1e-6)
        self.panels.set_difference_limit(limit)
        self.panels.set_images(clean=result.clean, perturbed=result.perturbed, difference=difference,
                               extra=self._extra(record.reference, result.perturbation_image))
        self.panels.set_region_mask(record.region)
