"""One serialisable experiment (scan, slice, operator, reconstruction, threat, objective, optimiser, seed) and
the code that turns it into an :class:`~halluview.core.attacks.run.AttackProblem`.

``Experiment.to_dict()`` is what every report records; ``Experiment.from_dict()`` rebuilds it exactly.
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


_SECTIONS = {"source": SourceConfig, "operator": OperatorConfig, "recon": ReconConfig, "threat": ThreatConfig,
             "objective": ObjectiveConfig, "optimizer": OptimizerConfig}


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

    def to_dict(self) -> dict:
        return asdict(self)

    def validate(self) -> None:
        """Raise ValueError for settings that contradict each other, before anything is loaded."""
        if self.region is None:
            if self.objective.kind != "untargeted":
                raise ValueError(f"the {self.objective.kind!r} objective needs a region: draw one or pass --region")
            if self.threat.domain == "patch":
                raise ValueError("a patch threat needs a region: draw one or pass --region")
        if self.source.path is None and self.source.demo is None:
            raise ValueError("no scan: give a file or a built-in example")
        if self.image_every < 1 or self.noise_draws < 1:
            raise ValueError("image_every and noise_draws must be at least 1")
        conflict = self.surrogate_conflict()
        if conflict:
            raise ValueError(conflict)

    def surrogate_conflict(self) -> str | None:
        """Why the transfer surrogate cannot stand in for the reconstruction (None when it can, or when unset)."""
        from .recon.zoo import MODELS

        if not self.surrogate:
            return None
        if self.surrogate == self.recon.name:
            return "the surrogate is the attacked reconstruction itself: attack it directly"
        model = MODELS.get(self.surrogate)
        if model is not None and model.modality != self.operator.kind:
            return (f"the surrogate {self.surrogate} reconstructs {model.modality.upper()}, not "
                    f"{self.operator.kind.upper()} measurements")
        return None

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
            if section is not None:
                allowed = {f.name for f in fields(section)}
                extra = set(value) - allowed
                if extra:
                    raise ValueError(f"unknown {name} settings: {sorted(extra)}")
                value = section(**value)
            kwargs[name] = value
        return cls(**kwargs)


DEFAULT_RECON = {"mri": "unet-mri-4x", "ct": "fbpconvnet-ct-sparse", "denoise": "identity"}
"""What a kind of acquisition opens with: a learned model where there is one (the thing worth attacking)."""


def suited_operator_kind(modality: str, units: str) -> str:
    """The acquisition a scan was most likely made with: CT for HU / CT data, MRI otherwise."""
    return "ct" if units == "HU" or modality == "CT" else "mri"


def adapt_to_scan(experiment: Experiment, modality: str, units: str, has_kspace: bool = False) -> Experiment:
    """The experiment with an operator (and a default reconstruction) that suits a newly opened scan.

    Nothing changes when the operator already suits it, or when the user chose denoising (any modality).
    Files with raw k-space are MRI.
    """
    from dataclasses import replace

    kind = "mri" if has_kspace else suited_operator_kind(modality, units)
    if experiment.operator.kind in (kind, "denoise"):
        return experiment
    return with_recon(replace(experiment, operator=replace(experiment.operator, kind=kind)), DEFAULT_RECON[kind])


def with_recon(experiment: Experiment, name: str) -> Experiment:
    """The experiment reconstructing with ``name``, with what picking it brings (:func:`model_choice`)."""
    from dataclasses import replace

    choice = model_choice(name)
    return replace(experiment, operator=replace(experiment.operator, **choice.get("operator", {})),
                   surrogate=choice.get("surrogate"),
                   recon=replace(experiment.recon, name=name, weights=None, params={}))


def model_choice(name: str) -> dict:
    """What picking reconstruction ``name`` brings, as experiment sections: a built-in model's acquisition (kind,
    mask or angles, coils, noise) and its default transfer surrogate (usually None); {} for anything else."""
    from .recon.zoo import MODELS

    if name not in MODELS:
        return {}
    return {"operator": MODELS[name].acquisition(), "surrogate": MODELS[name].default_surrogate}
