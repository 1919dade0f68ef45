"""Build a reconstruction f(y) from a serialisable config: classical solvers, built-in models, user checkpoints."""
from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, field
from typing import Callable

from torch import nn

from ..physics.base import Operator
from .architectures import build_checkpoint
from .classical import BaselineRecon, TVRecon, WaveletRecon
from .learned import TorchScriptPostProcessing
from .zoo import MODELS, discover_plugins

discover_plugins()


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
        tv: lam, n_iter; wavelet: threshold, wavelet, levels, n_iter; checkpoint: residual, crop_size (U-Net), and
        optionally what the weights must be: arch ("fastmri-unet" / "fastmri-varnet"), chans, num_pool_layers,
        num_cascades, sens_chans, sens_pools (see :mod:`.architectures`).
    allow_pickle : bool
        Allow a checkpoint that holds pickled Python objects (it can run code): only for trusted files.
    """

    name: str = "unet-mri-4x"
    weights: str | None = None
    params: dict = field(default_factory=dict)
    allow_pickle: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


PARAM_DEFAULTS: dict[str, dict] = {
    "tv": {"lam": 0.01, "n_iter": 100},
    "wavelet": {"threshold": 0.02, "wavelet": "db4", "levels": 3, "n_iter": 50},
}
"""The parameters of the classical methods, written once: the CLI's help, the app's controls and every report's
record read them here. A checkpoint has no defaults: its architecture is read from its weights."""


def resolved_params(name: str, params: dict) -> dict:
    """``params`` with every default filled in (None values count as unset): what the reconstruction will use."""
    given = {k: v for k, v in params.items() if v is not None}
    return {**PARAM_DEFAULTS.get(name, {}), **given}


def _tv(op: Operator, config: ReconConfig) -> nn.Module:
    p = resolved_params("tv", config.params)
    return TVRecon(op, lam=float(p["lam"]), n_iter=int(p["n_iter"]))


def _wavelet(op: Operator, config: ReconConfig) -> nn.Module:
    p = resolved_params("wavelet", config.params)
    return WaveletRecon(op, threshold=float(p["threshold"]), wavelet=p["wavelet"], levels=int(p["levels"]),
                        n_iter=int(p["n_iter"]))


def _torchscript(op: Operator, config: ReconConfig) -> nn.Module:
    """A TorchScript file post-processing the operator's baseline (B, 1, H, W) → (B, 1, H, W)."""
    import torch

    from .checkpoints import CheckpointError, check_checkpoint_file

    if config.weights is None:
        raise ValueError("a TorchScript reconstruction needs a file (--weights MODEL.pt)")
    check_checkpoint_file(config.weights)  # a FIFO would block torch.jit.load; a zip bomb would exhaust memory
    try:
        with warnings.catch_warnings():  # torch 2.13 deprecates TorchScript; users' files still deserve loading
            warnings.simplefilter("ignore", DeprecationWarning)
            network = torch.jit.load(config.weights, map_location="cpu")
    except Exception as err:  # noqa: BLE001 - any reader failure becomes one clear message
        raise CheckpointError(config.weights, f"not a TorchScript file ({type(err).__name__}: "
                                              f"{str(err).splitlines()[0] if str(err) else ''})") from None
    return TorchScriptPostProcessing(op, network).eval()


RECONSTRUCTORS: dict[str, Callable[[Operator, ReconConfig], nn.Module]] = {
    "zero-filled": lambda op, _: BaselineRecon(op),
    "fbp": lambda op, _: BaselineRecon(op),
    "identity": lambda op, _: BaselineRecon(op),
    "tv": _tv,
    "wavelet": _wavelet,
    "checkpoint": build_checkpoint,
    "torchscript": _torchscript,
}


def reconstructor_names() -> list[str]:
    return list(RECONSTRUCTORS) + sorted(MODELS)


def build_reconstructor(config: ReconConfig, op: Operator) -> nn.Module:
    """The module f for ``config`` around ``op``, in eval mode, parameters frozen."""
    if config.name in RECONSTRUCTORS:
        model = RECONSTRUCTORS[config.name](op, config)
    elif config.name in MODELS:
        model = MODELS[config.name].load(op)
    else:
        raise ValueError(f"unknown reconstruction {config.name!r}; choose one of {', '.join(reconstructor_names())}")
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return model.eval()
