"""Build a reconstruction f(y) from a serialisable config: classical solvers, built-in models, user checkpoints."""
from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, field
from typing import Callable

from torch import nn

from ..physics.base import Operator
from .checkpoints import load_into, read_state_dict
from .classical import BaselineRecon, TVRecon, WaveletRecon
from .fastmri_nets import Unet
from .learned import TorchScriptPostProcessing, UnetPostProcessing, VarNetReconstruction
from .varnet import VarNet
from .zoo import MODELS, discover_plugins

discover_plugins()


@dataclass
class ReconConfig:
    """Which reconstruction to attack (serialisable).

    Attributes
    ----------
    name : str
        "zero-filled" (MRI), "fbp" (CT), "identity" (denoising) — each the operator's baseline —, "tv", "wavelet",
        "checkpoint" (a state_dict at ``weights`` in the architecture ``params['arch']``), or a built-in model name.
    weights : str or None
        Checkpoint path for "checkpoint".
    params : dict
        tv: lam, n_iter; wavelet: threshold, wavelet, levels, n_iter; checkpoint: arch ("fastmri-unet": chans,
        num_pool_layers, residual; "fastmri-varnet": num_cascades, sens_chans, sens_pools, chans, num_pool_layers).
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
    "fastmri-unet": {"chans": 32, "num_pool_layers": 4, "residual": False},
    "fastmri-varnet": {"num_cascades": 12, "sens_chans": 8, "sens_pools": 4, "chans": 18, "num_pool_layers": 4},
}
"""The parameters of the classical methods (by name) and of the checkpoint architectures (by ``arch``), written
once: the CLI's help, the app's controls and every report's record read them here."""

ARCH_FLAGS = {"fastmri-unet": "--chans / --pools", "fastmri-varnet": "--cascades / --chans / --pools / "
                                                                     "--sens-chans / --sens-pools"}


def resolved_params(name: str, params: dict) -> dict:
    """``params`` with every default filled in (None values count as unset): what the reconstruction will use."""
    given = {k: v for k, v in params.items() if v is not None}
    if name == "checkpoint":
        arch = given.get("arch", "fastmri-unet")
        return {"arch": arch, **PARAM_DEFAULTS.get(arch, {}), **given}
    return {**PARAM_DEFAULTS.get(name, {}), **given}


def _tv(op: Operator, config: ReconConfig) -> nn.Module:
    p = resolved_params("tv", config.params)
    return TVRecon(op, lam=float(p["lam"]), n_iter=int(p["n_iter"]))


def _wavelet(op: Operator, config: ReconConfig) -> nn.Module:
    p = resolved_params("wavelet", config.params)
    return WaveletRecon(op, threshold=float(p["threshold"]), wavelet=p["wavelet"], levels=int(p["levels"]),
                        n_iter=int(p["n_iter"]))


def _load_checkpoint(module: nn.Module, config: ReconConfig, prefix: str, arch: str) -> None:
    """Load the user's state_dict; a mismatch names the architecture options to try."""
    from .checkpoints import CheckpointError

    try:
        load_into(module, read_state_dict(config.weights, config.allow_pickle), config.weights, prefix=prefix)
    except CheckpointError as err:
        if "match the architecture" not in err.reason:
            raise
        raise CheckpointError(config.weights, f"{err.reason} Is it a {arch} with other options? Try "
                                              f"{ARCH_FLAGS[arch]} (or --arch).") from None


def _unet_checkpoint(op: Operator, config: ReconConfig) -> nn.Module:
    p = resolved_params("checkpoint", config.params)
    unet = Unet(1, 1, chans=int(p["chans"]), num_pool_layers=int(p["num_pool_layers"]))
    _load_checkpoint(unet, config, "unet.", "fastmri-unet")
    crop = p.get("crop_size")
    return UnetPostProcessing(op, unet, tuple(crop) if crop else None, bool(p["residual"]), name="checkpoint")


def _varnet_checkpoint(op: Operator, config: ReconConfig) -> nn.Module:
    p = resolved_params("checkpoint", config.params)
    varnet = VarNet(num_cascades=int(p["num_cascades"]), sens_chans=int(p["sens_chans"]),
                    sens_pools=int(p["sens_pools"]), chans=int(p["chans"]), pools=int(p["num_pool_layers"]))
    _load_checkpoint(varnet, config, "varnet.", "fastmri-varnet")
    return VarNetReconstruction(op, varnet, name="checkpoint")


ARCHITECTURES = {"fastmri-unet": _unet_checkpoint, "fastmri-varnet": _varnet_checkpoint}


def _checkpoint(op: Operator, config: ReconConfig) -> nn.Module:
    """A user's state_dict in a built-in architecture (params['arch'] and its options)."""
    if config.weights is None:
        raise ValueError("a checkpoint reconstruction needs a weights file (--weights PATH)")
    arch = config.params.get("arch", "fastmri-unet")
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {arch!r}; available: {', '.join(ARCHITECTURES)}")
    return ARCHITECTURES[arch](op, config).eval()


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
    "checkpoint": _checkpoint,
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
