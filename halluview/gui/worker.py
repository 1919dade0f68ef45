"""The only place that starts threads: scan loading, previews and attacks run in superqt workers.

An attack owns the device while it runs: the session starts no preview until it ends. Results come back through
Qt signals, so widgets are only touched on the main thread; errors come back as (message, details) for the error
dialog, in the app's words (:func:`halluview.core.errors.message_for`).
"""
from __future__ import annotations

import traceback
from typing import Any, Callable

from PySide6.QtCore import QObject, QThreadPool, Signal
from superqt.utils import GeneratorWorker, create_worker

from ..core.attacks.run import AttackResult, run_attack
from ..core.errors import APP, message_for
from ..core.experiment import Experiment
from ..core.problem import Reconstruction, build_problem
from ..core.scan import Scan


def reserve_a_core_for_the_interface() -> int:
    """Let torch compute on the physical cores other processes leave free, all but one, so the window keeps
    painting while an attack runs (:func:`halluview.core.threads.choose_threads`).

    Returns the number of intra-op threads torch uses at once (at least 1); other processes' load is measured in
    the background and may lower it when the first attack starts.
    """
    from ..core.threads import measure_in_background, use_chosen

    # The cores at once; other processes' load measured beside the window's start (0.15 s of waiting) and applied
    # when the first attack starts (_attack_job).
    threads = use_chosen(leave_for_interface=True, measure_load=False).threads
    measure_in_background(leave_for_interface=True)
    return threads


def describe_error(error: BaseException) -> tuple[str, str]:
    """Plain words for the dialog, and the traceback for its expandable details."""
    message = message_for(error, APP)
    if "out of memory" in message.lower():
        message = ("The GPU ran out of memory. Try the CPU (device menu), a smaller image, or fewer steps.\n"
                   + message.splitlines()[0])
    details = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    return message, details


def _attack_job(experiment: Experiment, scan: Scan, reuse: Reconstruction | None):
    from ..core.threads import apply_measured

    apply_measured()  # the thread count others' load allows, measured when the app started
    problem = build_problem(experiment, scan, reuse=reuse)
    yield ("ready", problem)
    result = yield from run_attack(problem)
    return result


class JobRunner(QObject):
    """Starts background jobs, forwards their results, and cancels / pauses the attack.

    Signals
    -------
    loaded(object, object) : a job's callback key and its result, for one-shot jobs (scan loading, previews).
    jobFailed(object, str, str) : a one-shot job's key, message and details.
    problemReady(object) : the attack's problem is built (clean reconstruction available).
    step(object) : one AttackStep.
    finished(object) : the AttackResult (None when cancelled).
    attackFailed(str, str) : the attack's message and details.
    failed(str, str) : message and details of any failure (one-shot job or attack).
    busyChanged(bool) : an attack's job started / ended.
    """

    loaded = Signal(object, object)
    jobFailed = Signal(object, str, str)
    problemReady = Signal(object)
    step = Signal(object)
    finished = Signal(object)
    attackFailed = Signal(str, str)
    failed = Signal(str, str)
    busyChanged = Signal(bool)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._attack: GeneratorWorker | None = None
        self._jobs: set = set()

    # one-shot jobs ---------------------------------------------------------------------------------------
    def run(self, key: Any, function: Callable, *args, **kwargs) -> None:
        """Run ``function(*args, **kwargs)`` in a worker; emits loaded(key, result) or failed."""
        worker = create_worker(function, *args, _start_thread=False, _ignore_errors=True, **kwargs)
        worker.returned.connect(lambda value: self.loaded.emit(key, value))
        worker.errored.connect(lambda error: self._job_errored(key, error))
        worker.finished.connect(lambda: self._jobs.discard(worker))
        self._jobs.add(worker)
        worker.start()

    def _job_errored(self, key: Any, error: BaseException) -> None:
        message, details = describe_error(error)
        self.jobFailed.emit(key, message, details)
        self.failed.emit(message, details)

    # the attack ------------------------------------------------------------------------------------------
    @property
    def attack_running(self) -> bool:
        return self._attack is not None

    @property
    def paused(self) -> bool:
        return self._attack is not None and self._attack.is_paused

    def start_attack(self, experiment: Experiment, scan: Scan, reuse: Reconstruction | None = None) -> None:
        """Build the problem (binding ``reuse``, the preview's reconstruction, when it fits) and run the attack."""
        if self._attack is not None:
            raise RuntimeError("an attack is already running")
        worker = create_worker(_attack_job, experiment, scan, reuse, _start_thread=False, _ignore_errors=True)
        worker.yielded.connect(self._on_yielded)
        worker.returned.connect(self._on_returned)
        worker.errored.connect(self._on_errored)
        worker.aborted.connect(lambda: self.finished.emit(None))
        worker.finished.connect(self._on_worker_finished)
        self._attack = worker
        self.busyChanged.emit(True)
        worker.start()

    def _on_yielded(self, value) -> None:
        if isinstance(value, tuple) and value and value[0] == "ready":
            self.problemReady.emit(value[1])
        else:
            self.step.emit(value)

    def _on_returned(self, result: AttackResult | None) -> None:
        if isinstance(result, AttackResult):
            self.finished.emit(result)

    def _on_errored(self, error: BaseException) -> None:
        message, details = describe_error(error)
        self.attackFailed.emit(message, details)
        self.failed.emit(message, details)

    def _on_worker_finished(self) -> None:
        self._attack = None
        self.busyChanged.emit(False)

    def toggle_pause(self) -> None:
        if self._attack is not None:
            self._attack.toggle_pause()

    def cancel(self) -> None:
        """Ask the attack to stop at its next step (the generator is abandoned at a yield)."""
        if self._attack is not None:
            if self._attack.is_paused:
                self._attack.resume()
            self._attack.quit()

    def wait(self, msecs: int = 10000) -> bool:
        """Block until every job has ended (closing the window, tests)."""
        return QThreadPool.globalInstance().waitForDone(msecs)
