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
from .recon.acceleration import AccelerationSettings
from .recon.config import ReconConfig
from .settings import OPERATOR_KINDS, OperatorConfig, ScanFacts, SourceConfig

__all__ = ["DEFAULT_RECON", "OPERATOR_KINDS", "AccelerationSettings", "Experiment", "OperatorConfig", "ReconConfig",
           "ScanFacts", "SourceConfig", "model_choice", "suited_operator_kind"]


SECTIONS = {"source": SourceConfig, "operator": OperatorConfig, "recon": ReconConfig, "threat": ThreatConfig,
            "objective": ObjectiveConfig, "optimizer": OptimizerConfig, "compute": AccelerationSettings}
"""The experiment's sections a user chooses, by name (the app's and the CLI's choices edit them)."""
_SECTIONS = {**SECTIONS, "scan_facts": ScanFacts}


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
    segments: str | None = None  # a NIfTI label map for segment RMSE / RFS; None: SLIC on the reference
    seed: int = 0
    device: str = "auto"
    image_every: int = 1
    noise_draws: int = 4
    scan_facts: ScanFacts | None = None  # what it was built for (set by experiment_for); None: not recorded
    # How the attacked network is computed (bf16, channels-last, torch.compile); reports before it: the default.
    compute: AccelerationSettings = field(default_factory=AccelerationSettings)

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
