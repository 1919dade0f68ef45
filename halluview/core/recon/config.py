"""Which reconstruction to attack, as settings: :class:`ReconConfig` and the typed parameters of each method.

A leaf module (no torch, no model code): the experiment, validation, the choices and the session read it without
importing the factory that builds the modules. :mod:`halluview.core.recon.factory` re-exports these names.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields


@dataclass
class ReconConfig:
    """Which reconstruction to attack (serialisable).

    Attributes
    ----------
    name : str
        "zero-filled" (MRI), "fbp" (CT), "identity" (denoising) — each the operator's baseline —, "tv", "wavelet",
        "checkpoint" (a fastMRI U-Net or E2E-VarNet state_dict at ``weights``: the architecture and its sizes are
        read from the file), or a built-in model name.
    weights : str or None
        Checkpoint path for "checkpoint".
    params : dict
        tv: lam, n_iter; wavelet: threshold, wavelet, levels, n_iter (typed: :data:`PARAMS`); checkpoint: residual,
        crop_size (U-Net), and optionally what the weights must be: arch ("fastmri-unet" / "fastmri-varnet"), chans,
        num_pool_layers, num_cascades, sens_chans, sens_pools (see :mod:`.architectures`).
    allow_pickle : bool
        Allow a checkpoint that holds pickled Python objects (it can run code): only for trusted files.
    ttt : dict or None
        Test-time training: adapt a copy of the network to the measurement before reconstructing
        (:class:`TTTSettings` as a dict: steps, lr, split, seed); None: off.
    """

    name: str = "unet-mri-4x"
    weights: str | None = None
    params: dict = field(default_factory=dict)
    allow_pickle: bool = False
    ttt: dict | None = None

    def to_dict(self) -> dict:
        return asdict(self)


class ReconParams:
    """The parameters of one method, typed; the dataclass defaults are the only defaults."""

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, params: dict) -> ReconParams:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(params) - known)
        if unknown:
            raise ValueError(f"unknown {cls.__name__} settings: {', '.join(unknown)}")
        return cls(**{k: v for k, v in params.items() if v is not None})


@dataclass(frozen=True)
class TVParams(ReconParams):
    """Total variation: regularisation weight λ and the number of unrolled iterations."""

    lam: float = 0.01
    n_iter: int = 100


@dataclass(frozen=True)
class WaveletParams(ReconParams):
    """Wavelet sparsity: soft threshold, wavelet, decomposition levels, iterations."""

    threshold: float = 0.02
    wavelet: str = "db4"
    levels: int = 3
    n_iter: int = 50


@dataclass(frozen=True)
class DiffusionParams(ReconParams):
    """Diffusion prior: network evaluations per reconstruction (DDIM steps), DDIM's η (0 deterministic given the
    start, 1 DDPM-like) and the sampler's seed."""

    sampling_steps: int = 50
    eta: float = 1.0
    sampler_seed: int = 0


PARAMS: dict[str, type[ReconParams]] = {"tv": TVParams, "wavelet": WaveletParams,
                                        "diffusion-mri-4x": DiffusionParams}
"""The typed parameters of the classical methods, by name. A checkpoint has none to default: its architecture and
sizes are read from its weights (:mod:`.architectures`)."""

PARAM_DEFAULTS: dict[str, dict] = {name: cls().to_dict() for name, cls in PARAMS.items()}
"""The defaults of :data:`PARAMS` as dicts: the CLI's help, the app's controls and every report's record read them."""


def resolved_params(name: str, params: dict) -> dict:
    """``params`` with every default filled in (None values count as unset): what the reconstruction will use."""
    given = {k: v for k, v in params.items() if v is not None}
    return {**PARAM_DEFAULTS.get(name, {}), **given}


def typed_params(name: str, params: dict) -> ReconParams | None:
    """The typed parameters of reconstruction ``name`` (None for methods without, e.g. built-in models)."""
    cls = PARAMS.get(name)
    return None if cls is None else cls.from_dict(params)


@dataclass(frozen=True)
class TTTSettings(ReconParams):
    """Test-time training (Darestani, Liu & Heckel 2022): Adam ``steps`` at learning rate ``lr`` on the
    self-supervised loss ‖M_Λ (A f_θ(M_Θ y) − y)‖² / ‖M_Λ y‖². ``split``: the fraction of the acquired k-space
    columns held out of the network's input and used for the loss only (Λ; the rest, Θ, is the input, as in SSDU);
    0 uses every acquired sample for both (Θ = Λ = all acquired). ``seed`` draws the split."""

    steps: int = 10
    lr: float = 1e-4
    split: float = 0.0
    seed: int = 0


TTT_MAX_STEPS = 10_000
TTT_MAX_SPLIT = 0.9
"""At most this fraction of the acquired columns is held out: the network must still see some of them."""


def ttt_settings(recon: ReconConfig) -> TTTSettings | None:
    """The reconstruction's test-time training settings, typed (None: off); unknown keys are a ValueError."""
    if recon.ttt is None:
        return None
    if not isinstance(recon.ttt, dict):
        raise ValueError(f"test-time training settings are a mapping of steps, lr, split and seed, not {recon.ttt!r}")
    return TTTSettings.from_dict(recon.ttt)
