"""One serialisable experiment (scan, slice, operator, reconstruction, threat, objective, optimiser, seed).

``Experiment.to_dict()`` is what every report records; ``Experiment.from_dict()`` rebuilds it (except the
permission to unpickle a checkpoint, which is never read from a file). :func:`halluview.core.choices.experiment_for`
builds it from a scan and the user's choices, for the CLI and the app alike; :meth:`Experiment.validate` checks it
before any work starts (:mod:`halluview.core.validation`).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

from .attacks.objectives import ObjectiveConfig
from .attacks.optimizers import OptimizerConfig
from .attacks.threat import ThreatConfig
from .recon.factory import ReconConfig

OPERATOR_KINDS = ("mri", "ct", "denoise")


@dataclass
class SourceConfig:
    """Where the image comes from: a built-in example (``demo``) or a file (``path``), and which slice.

    ``image_size`` resizes the slice to a square of that side before simulation (None: the built-in model's
    training size when a built-in model is attacked, else the native size).
    """

    demo: str | None = "brain"
    path: str | None = None
    slice: int | None = None
    choices: dict = field(default_factory=dict)
    image_size: int | None = None


@dataclass
class OperatorConfig:
    """The acquisition: MRI (acceleration, centre fraction, mask, coils), CT (angles) or denoising; noise.

    ``noise``: None, {"kind": "gaussian", "sigma": s, "relative": bool}, {"kind": "poisson_transmission",
    "incident_flux": I0, "mu_scale": m} (CT) or {"kind": "poisson_image", "peak": p} (denoising).
    ``use_file_kspace``: attack the file's own k-space when it has one (fastMRI HDF5).
    """

    kind: str = "mri"
    acceleration: float = 4.0
    center_fraction: float = 0.08
    mask_type: str = "random"
    n_coils: int = 1
    mask_seed: int = 0
    angles: str = "full"
    n_angles: int = 180
    max_angle_deg: float = 180.0
    noise: dict | None = None
    noise_seed: int = 0
    use_file_kspace: bool = True

    def __post_init__(self):
        if self.kind not in OPERATOR_KINDS:
            raise ValueError(f"operator must be one of {OPERATOR_KINDS}, not {self.kind!r}")


@dataclass
class ScanFacts:
    """What the experiment was built for, read from the opened scan (never chosen): the report's record of it.

    Attributes
    ----------
    source : str
        File path, or "demo:<name>" for a built-in example.
    modality : str
        "CT", "MR", "OT" (other / unknown) or "PHANTOM".
    units : str
        Unit of the voxel values ("HU", "a.u.", ...).
    n_slices : int
        Slices in the opened series / volume.
    shape : tuple[int, int]
        Rows × columns of one slice as the file shows it, in pixels (before any resizing).
    kspace_coils : int or None
        Raw k-space in the file: its number of coils (1: single-coil); None when the file holds none.
    """

    source: str = ""
    modality: str = "OT"
    units: str = "a.u."
    n_slices: int = 1
    shape: tuple = (0, 0)
    kspace_coils: int | None = None

    def __post_init__(self):
        self.shape = tuple(int(n) for n in self.shape)  # JSON gives a list back

    @classmethod
    def of(cls, scan) -> ScanFacts:
        """The facts of a loaded :class:`~halluview.core.scan.Scan` (shapes only: nothing is read)."""
        coils = None
        if scan.kspace is not None:
            shape = tuple(scan.kspace.shape)
            coils = int(shape[1]) if len(shape) == 4 else 1
        return cls(source=str(scan.source), modality=str(scan.modality), units=str(scan.units),
                   n_slices=int(scan.n_slices), shape=tuple(scan.volume.shape[-2:]), kspace_coils=coils)


_SECTIONS = {"source": SourceConfig, "operator": OperatorConfig, "recon": ReconConfig, "threat": ThreatConfig,
             "objective": ObjectiveConfig, "optimizer": OptimizerConfig, "scan_facts": ScanFacts}


@dataclass
class Experiment:
    """Everything that determines an attack's numbers."""

    source: SourceConfig = field(default_factory=SourceConfig)
    operator: OperatorConfig = field(default_factory=OperatorConfig)
    recon: ReconConfig = field(default_factory=ReconConfig)
    threat: ThreatConfig = field(default_factory=ThreatConfig)
    objective: ObjectiveConfig = field(default_factory=ObjectiveConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    region: dict | None = None
    surrogate: str | None = None  # transfer attack: optimise through this reconstruction, evaluate ``recon``
    seed: int = 0
    device: str = "auto"
    image_every: int = 1
    noise_draws: int = 4
    scan_facts: ScanFacts | None = None  # what it was built for (set by experiment_for); None: not recorded

    def to_dict(self) -> dict:
        return asdict(self)

    def validate(self, facts: ScanFacts | None = None) -> None:
        """Raise :class:`~halluview.core.validation.ExperimentError` (a ValueError, one line for the user) for any
        setting out of range, a reconstruction that does not fit the acquisition, an unavailable device, or a
        missing region; with the scan's ``facts`` (default: :attr:`scan_facts`) also a slice outside the scan and
        settings that do not fit it. Nothing is loaded or computed."""
        from .validation import validate_experiment

        validate_experiment(self, facts if facts is not None else self.scan_facts)

    def validate_settings(self) -> None:
        """The checks that do not need a region (the app checks every edit with them; a region is drawn later)."""
        from .validation import validate_settings

        validate_settings(self, self.scan_facts)

    @classmethod
    def from_dict(cls, data: dict) -> Experiment:
        """Rebuild from :meth:`to_dict` output; unknown keys are an error (a typo must not pass silently)."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown experiment settings: {sorted(unknown)}")
        kwargs = {}
        for name, value in data.items():
            section = _SECTIONS.get(name)
            if section is not None and value is not None:
                allowed = {f.name for f in fields(section)}
                extra = set(value) - allowed
                if extra:
                    raise ValueError(f"unknown {name} settings: {sorted(extra)}")
                value = section(**value)
            kwargs[name] = value
        experiment = cls(**kwargs)
        # A report or session someone sends must not run code: permission to unpickle comes from the user only
        # (halluview-cli rerun --allow-pickle, or the app's question), never from the file.
        experiment.recon.allow_pickle = False
        return experiment


DEFAULT_RECON = {"mri": "unet-mri-4x", "ct": "fbpconvnet-ct-sparse", "denoise": "identity"}
"""What a kind of acquisition opens with: a learned model where there is one (the thing worth attacking)."""


def suited_operator_kind(modality: str, units: str, has_kspace: bool = False) -> str:
    """The acquisition a scan was most likely made with: MRI for raw k-space, CT for HU / CT data, MRI otherwise."""
    if has_kspace:
        return "mri"
    return "ct" if units == "HU" or modality == "CT" else "mri"


def model_choice(name: str) -> dict:
    """What picking reconstruction ``name`` brings, as experiment sections: a built-in model's acquisition (kind,
    mask or angles, coils, noise) and its default transfer surrogate (usually None); {} for anything else."""
    from .recon.zoo import MODELS

    if name not in MODELS:
        return {}
    return {"operator": MODELS[name].acquisition(), "surrogate": MODELS[name].default_surrogate}
