"""Build a reconstruction f(y) from a serialisable config: classical solvers, built-in models, user checkpoints."""
from __future__ import annotations

import warnings
from typing import Callable

from torch import nn

from ..errors import NEEDS_WEIGHTS, ExperimentError
from ..physics.base import Operator
from .architectures import build_checkpoint
from .classical import BaselineRecon, TVRecon, WaveletRecon
from .config import PARAM_DEFAULTS, PARAMS, ReconConfig, resolved_params  # noqa: F401 - re-exported (leaf module)
from .learned import TorchScriptPostProcessing
from .zoo import MODELS


def _tv(op: Operator, config: ReconConfig) -> nn.Module:
    p = resolved_params("tv", config.params)
    return TVRecon(op, lam=float(p["lam"]), n_iter=int(p["n_iter"]))


def _wavelet(op: Operator, config: ReconConfig) -> nn.Module:
    p = resolved_params("wavelet", config.params)
    return WaveletRecon(op, threshold=float(p["threshold"]), wavelet=p["wavelet"], levels=int(p["levels"]),
                        n_iter=int(p["n_iter"]))


def load_torchscript(path: str) -> nn.Module:
    """The TorchScript network in the file at ``path``, on the CPU (TorchScript code, not pickled Python objects).

    Raises
    ------
    CheckpointError
        If the file would hang or exhaust memory (:func:`~.checkpoints.check_checkpoint_file`) or is not a
        TorchScript archive.
    """
    import torch

    from .checkpoints import CheckpointError, check_checkpoint_file

    check_checkpoint_file(path)  # a FIFO would block torch.jit.load; a zip bomb would exhaust memory
    try:
        with warnings.catch_warnings():  # torch 2.13 deprecates TorchScript; users' files still deserve loading
            warnings.simplefilter("ignore", DeprecationWarning)
            return torch.jit.load(path, map_location="cpu")
    except Exception as err:  # noqa: BLE001 - any reader failure becomes one clear message
        raise CheckpointError(path, f"not a TorchScript file ({type(err).__name__}: "
                                    f"{str(err).splitlines()[0] if str(err) else ''})") from None


def _torchscript(op: Operator, config: ReconConfig) -> nn.Module:
    """A TorchScript file post-processing the operator's baseline (B, 1, H, W) → (B, 1, H, W)."""
    if config.weights is None:
        raise ExperimentError("a TorchScript reconstruction needs a file", NEEDS_WEIGHTS)
    return TorchScriptPostProcessing(op, load_torchscript(config.weights)).eval()


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
        if config.name in PARAMS:  # a built-in model with settings of its own (the diffusion sampler's)
            model = model.with_settings(**resolved_params(config.name, config.params))
    else:
        raise ValueError(f"unknown reconstruction {config.name!r}; choose one of {', '.join(reconstructor_names())}")
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return model.eval()
