"""The records of an interactive session (Qt-free): its runs, what opening a scan or starting a run asks of the
front end that runs the jobs, and a snapshot of the whole session."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .attacks.run import AttackResult, AttackStep
from .choices import Choices
from .display import format_eps
from .experiment import Experiment
from .problem import Reconstruction
from .region_stack import RegionStack
from .scan import Scan
from .settings import WindowSettings

RUNNING, DONE, CANCELLED, FAILED = "running", "done", "cancelled", "failed"


@dataclass
class RunRecord:
    """One attack of this session: its configuration, its live steps and, once done, its result.

    Attributes
    ----------
    number : int
        1, 2, … in the order the runs started.
    experiment : dict
        The experiment it ran (``Experiment.to_dict()``), region included: the CLI could repeat it.
    status : "running", "done", "cancelled" or "failed"
    note : str
        Why it ended as it did, when it did not simply finish ("the slice changed to 12 while it ran").
    stop_requested : bool
        Cancelled by the session while its job still runs: steps that still arrive are dropped (they show an image
        that is no longer on screen).
    steps : list of dict
        Each step's summary (``AttackStep.summary()``).
    result : AttackResult or None
        Set when it finished.
    clean, reference, region : ndarray or None
        The clean reconstruction, the reference and the region mask it ran on (for painting it again).
    last_step : AttackStep or None
    """

    number: int
    experiment: dict
    status: str = RUNNING
    note: str = ""
    stop_requested: bool = False
    steps: list[dict] = field(default_factory=list)
    result: AttackResult | None = None
    clean: np.ndarray | None = None
    reference: np.ndarray | None = None
    region: np.ndarray | None = None
    last_step: AttackStep | None = None

    @property
    def label(self) -> str:
        """One line for the run history: "#2 unet-mri-4x · L2 ε 1 % ‖y‖ · insert · done" (the history panel names a
        transfer's surrogate first)."""
        cfg = self.experiment
        threat = cfg["threat"]
        return (f"#{self.number} {cfg['recon']['name']} · {threat['norm'].upper()} ε "
                f"{format_eps(threat['eps'], threat)} · {cfg['objective']['kind']} · {self.status}")


@dataclass(frozen=True)
class OpenRequest:
    """A scan to open: where from, whether the acquisition adapts to it, whether the settings stand as they are (a
    restored session), a region to place once when its first picture is ready, and the experiment to load it with."""

    source: dict
    loading: Experiment
    adapt: bool = True
    keep_settings: bool = False
    initial_region: dict | None = None


@dataclass(frozen=True)
class RunStart:
    """What the front end's job runner needs to start a run: its record, its experiment, and the preview's
    reconstruction when it still fits (else None: the job builds it)."""

    record: RunRecord
    experiment: Experiment
    reuse: Reconstruction | None


@dataclass(frozen=True)
class SessionSnapshot:
    """The user's session, to come back to (presentation mode): settings, scan, slice, regions (history
    included), window, runs and the run on screen."""

    choices: Choices
    scan: Scan | None
    slice_index: int
    regions: RegionStack
    window: WindowSettings | None
    runs: tuple[RunRecord, ...] = field(default_factory=tuple)
    selected: RunRecord | None = None
