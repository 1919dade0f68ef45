"""Which fastMRI network a user's state_dict holds, and its sizes, read from the parameter names and shapes alone.

fastMRI's U-Net is ``down_sample_layers.{i}`` (i < num_pool_layers), ``conv``, ``up_transpose_conv.{i}`` and
``up_conv.{i}``; its first convolution is (chans, in_chans, 3, 3) and its last, ``up_conv.{last}.1``, is
(out_chans, chans, 1, 1). The E2E-VarNet is ``sens_net.norm_unet.unet.<U-Net>`` (the sensitivity network) and
``cascades.{i}.model.unet.<U-Net>`` with ``cascades.{i}.dc_weight``. fastMRI's Lightning modules keep the network
under ``unet.`` / ``varnet.``. So a checkpoint needs no architecture flags; sizes that are stated (``--arch``,
``--chans``, … on the command line, or a report's record) are checked against the weights.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Mapping

import torch
from torch import Tensor, nn

from ..physics.base import Operator
from ..physics.mri import MRIOperator
from .checkpoints import CheckpointError, check_fits, load_into, read_state_dict
from .learned import UnetPostProcessing, VarNetReconstruction
from .unet import Unet
from .varnet import VarNet

UNET, VARNET = "fastmri-unet", "fastmri-varnet"


@dataclass(frozen=True)
class UnetSize:
    """fastMRI ``Unet(in_chans, out_chans, chans, num_pool_layers)``."""

    in_chans: int
    out_chans: int
    chans: int
    num_pool_layers: int

    def describe(self) -> str:
        return f"{self.chans} channels, {self.num_pool_layers} pools"


@dataclass(frozen=True)
class VarNetSize:
    """fastMRI ``VarNet(num_cascades, sens_chans, sens_pools, chans, pools)``; ``num_pool_layers`` is ``pools``
    (the name the checkpoint options share with the U-Net)."""

    num_cascades: int
    sens_chans: int
    sens_pools: int
    chans: int
    num_pool_layers: int

    def describe(self) -> str:
        return (f"{self.num_cascades} cascades of {self.chans} channels, {self.num_pool_layers} pools; sensitivity "
                f"network {self.sens_chans} channels, {self.sens_pools} pools")


@dataclass(frozen=True)
class Architecture:
    """One network family a checkpoint may hold: how to recognise it, size it, build it and wrap it as f(y)."""

    name: str
    title: str
    lightning_prefix: str  # where fastMRI's Lightning module keeps it
    marker: Callable[[str], bool]  # a parameter name only this family has
    size: Callable[[Mapping[str, Tensor]], UnetSize | VarNetSize]
    network: Callable[[UnetSize | VarNetSize], nn.Module]


@dataclass(frozen=True)
class CheckpointArchitecture:
    """What a checkpoint file holds: the family (``arch``), the key prefix to strip and the sizes."""

    arch: str
    prefix: str
    size: UnetSize | VarNetSize

    @property
    def title(self) -> str:
        return ARCHITECTURES[self.arch].title

    def describe(self) -> str:
        """E.g. "fastMRI U-Net, 256 channels, 4 pools"."""
        return f"{self.title}, {self.size.describe()}"

    def options(self) -> dict:
        """The sizes under the checkpoint options' names (``ReconConfig.params``)."""
        return asdict(self.size)


OPTION_FLAGS = {"arch": "--arch", "chans": "--chans", "num_pool_layers": "--pools", "num_cascades": "--cascades",
                "sens_chans": "--sens-chans", "sens_pools": "--sens-pools"}
"""The checkpoint options that state an architecture, and the command-line flag that sets each."""
OPTION_WORDS = {"in_chans": "input channels", "out_chans": "output channels", "chans": "channels",
                "num_pool_layers": "pooling layers", "num_cascades": "cascades",
                "sens_chans": "sensitivity-network channels", "sens_pools": "sensitivity-network pooling layers"}


# --- sizes from names and shapes -----------------------------------------------------------------------------------
def _indices(state: Mapping[str, Tensor], prefix: str) -> list[int]:
    """The numbers N of the keys ``prefix + "N." …``, sorted."""
    pattern = re.compile(re.escape(prefix) + r"(\d+)\.")
    return sorted({int(m.group(1)) for key in state if (m := pattern.match(key))})


def _weight(state: Mapping[str, Tensor], key: str, dims: int) -> Tensor:
    if key not in state:
        raise ValueError(f"it has no {key}")
    tensor = state[key]
    if tensor.dim() != dims:
        raise ValueError(f"its {key} has {tensor.dim()} dimensions, not {dims}")
    return tensor


def unet_size(state: Mapping[str, Tensor], prefix: str = "") -> UnetSize:
    """The sizes of the fastMRI U-Net whose parameters are ``state``'s keys under ``prefix``.

    Raises
    ------
    ValueError
        If the keys that carry the sizes are missing or not convolution weights (the reason, in words).
    """
    downs = _indices(state, f"{prefix}down_sample_layers.")
    if not downs:
        raise ValueError(f"it has no {prefix}down_sample_layers.0 (a fastMRI U-Net's first layer)")
    pools = downs[-1] + 1
    first = _weight(state, f"{prefix}down_sample_layers.0.layers.0.weight", 4)
    last = _weight(state, f"{prefix}up_conv.{pools - 1}.1.weight", 4)
    return UnetSize(in_chans=int(first.shape[1]), out_chans=int(last.shape[0]), chans=int(first.shape[0]),
                    num_pool_layers=pools)


def varnet_size(state: Mapping[str, Tensor]) -> VarNetSize:
    """The sizes of the fastMRI E2E-VarNet whose parameters are ``state``'s keys.

    Raises
    ------
    ValueError
        If a size cannot be read, or the cascades differ in size (fastMRI's VarNet gives all one size).
    """
    cascades = _indices(state, "cascades.")
    if not cascades:
        raise ValueError("it has no cascades.0 (an E2E-VarNet's first cascade)")
    sens = unet_size(state, "sens_net.norm_unet.unet.")
    first = unet_size(state, "cascades.0.model.unet.")
    for index in cascades[1:]:
        other = unet_size(state, f"cascades.{index}.model.unet.")
        if other != first:
            raise ValueError(f"its cascades differ in size (cascade 0: {first.describe()}; cascade {index}: "
                             f"{other.describe()}), and an E2E-VarNet gives all its cascades one size")
    return VarNetSize(num_cascades=cascades[-1] + 1, sens_chans=sens.chans, sens_pools=sens.num_pool_layers,
                      chans=first.chans, num_pool_layers=first.num_pool_layers)


def _unet(size: UnetSize) -> nn.Module:
    return Unet(size.in_chans, size.out_chans, chans=size.chans, num_pool_layers=size.num_pool_layers)


def _varnet(size: VarNetSize) -> nn.Module:
    return VarNet(num_cascades=size.num_cascades, sens_chans=size.sens_chans, sens_pools=size.sens_pools,
                  chans=size.chans, pools=size.num_pool_layers)


ARCHITECTURES: dict[str, Architecture] = {
    UNET: Architecture(UNET, "fastMRI U-Net", "unet.", lambda key: key.startswith("down_sample_layers."),
                       unet_size, _unet),
    VARNET: Architecture(VARNET, "fastMRI E2E-VarNet", "varnet.",
                         lambda key: key.startswith(("cascades.", "sens_net.")), varnet_size, _varnet),
}


def identify(state: Mapping[str, Tensor], path: str | Path) -> CheckpointArchitecture:
    """The network ``state`` holds (plain, or under a fastMRI Lightning module's prefix) and its sizes.

    Raises
    ------
    CheckpointError
        If it is neither a fastMRI U-Net nor an E2E-VarNet, or a size cannot be read.
    """
    for arch in ARCHITECTURES.values():
        prefix = arch.lightning_prefix
        lightning = bool(state) and all(key.startswith(prefix) for key in state)
        keys = [key[len(prefix):] for key in state] if lightning else list(state)
        if any(arch.marker(key) for key in keys):
            stripped = {key[len(prefix):]: value for key, value in state.items()} if lightning else state
            try:
                return CheckpointArchitecture(arch.name, prefix if lightning else "", arch.size(stripped))
            except ValueError as err:
                raise CheckpointError(path, f"it looks like a {arch.title}, but {err}") from None
    shown = sorted(state)[:4]
    raise CheckpointError(path, "it holds neither a fastMRI U-Net (down_sample_layers…, up_conv…) nor an E2E-VarNet "
                                f"(cascades.N…, sens_net…), nor either under Lightning's unet. / varnet.; its "
                                f"parameters begin {shown}{' …' if len(state) > 4 else ''}")


def check_stated(found: CheckpointArchitecture, params: Mapping, path: str | Path) -> None:
    """Refuse stated architecture options that contradict the weights, naming both values.

    ``params``: checkpoint options (``arch``, ``chans``, ``num_pool_layers``, ``num_cascades``, ``sens_chans``,
    ``sens_pools``); others (``residual``, ``crop_size``) and None values are not about the weights.
    """
    stated = {key: value for key, value in params.items() if key in OPTION_FLAGS and value is not None}
    if "arch" in stated and stated["arch"] != found.arch:
        raise CheckpointError(path, f"the weights hold a {found.title}, not a {stated['arch']} (--arch "
                                    f"{stated['arch']}); leave --arch out and the file's own architecture is used")
    options = found.options()
    for key, value in stated.items():
        if key == "arch":
            continue
        flag = OPTION_FLAGS[key]
        if key not in options:
            raise CheckpointError(path, f"the weights hold a {found.title}, which has no {OPTION_WORDS[key]} "
                                        f"({flag} {value} given); leave {flag} out")
        if value != options[key]:
            raise CheckpointError(path, f"the weights hold a {found.title} with {options[key]} {OPTION_WORDS[key]}, "
                                        f"not {value} ({flag} {value}); leave {flag} out and the file's own size is "
                                        "used")


def inspect_checkpoint(path: str | Path, allow_pickle: bool = False, params: Mapping | None = None
                       ) -> CheckpointArchitecture:
    """Read a checkpoint and say what it holds, checking that every key and shape fits that network (built on
    the meta device: nothing is allocated), so that building it will load; what the app checks before it
    selects a user's file.

    Raises
    ------
    CheckpointError
        If the file cannot be read (or holds pickled objects without ``allow_pickle``), holds no fastMRI
        network, contradicts stated ``params``, or its keys and shapes do not fit the network its names say.
    """
    state = read_state_dict(path, allow_pickle)
    found = identify(state, path)
    check_stated(found, params or {}, path)
    with torch.device("meta"):
        network = ARCHITECTURES[found.arch].network(found.size)
    check_fits(network, _stripped(state, found.prefix), path, found.describe())
    return found


def load_network(path: str | Path, allow_pickle: bool = False, params: Mapping | None = None
                 ) -> tuple[nn.Module, CheckpointArchitecture]:
    """The network a checkpoint holds, its weights loaded strictly, and what it is (see :func:`identify`)."""
    state = read_state_dict(path, allow_pickle)
    found = identify(state, path)
    check_stated(found, params or {}, path)
    network = ARCHITECTURES[found.arch].network(found.size)
    load_into(network, _stripped(state, found.prefix), path, architecture=found.describe())
    return network, found


def _stripped(state: Mapping[str, Tensor], prefix: str) -> dict[str, Tensor]:
    return {key[len(prefix):]: value for key, value in state.items()} if prefix else dict(state)


def _coils(op: MRIOperator) -> int:
    """Coils of the k-space (a file's raw multi-coil k-space has no sensitivity maps, but its settings count them)."""
    return int(op.config().get("n_coils", op.n_coils))


def build_checkpoint(op: Operator, config) -> nn.Module:
    """f(y) for a user's checkpoint (``config``: a ReconConfig with ``weights``, ``params``, ``allow_pickle``).

    A U-Net reads the operator's baseline image through fastMRI's pipeline (``params``: ``residual``,
    ``crop_size``); an E2E-VarNet reads multi-coil k-space.

    Raises
    ------
    CheckpointError
        As :func:`inspect_checkpoint`, and for a network this acquisition cannot feed.
    """
    if config.weights is None:
        raise ValueError("a checkpoint reconstruction needs a weights file (--weights PATH)")
    params = config.params or {}
    network, found = load_network(config.weights, config.allow_pickle, params)
    if found.arch == VARNET:
        if not isinstance(op, MRIOperator) or _coils(op) < 2:
            raise CheckpointError(config.weights, f"it holds a {found.describe()}: a multi-coil MRI network that "
                                                  "needs k-space from at least 2 coils; set coils ≥ 2 (an MRI "
                                                  "acquisition)")
        return VarNetReconstruction(op, network, name="checkpoint").eval()
    size = found.size
    if (size.in_chans, size.out_chans) != (1, 1):
        raise CheckpointError(config.weights, f"it holds a {found.describe()} with {size.in_chans} input and "
                                              f"{size.out_chans} output channels; HalluView's U-Net pipeline feeds "
                                              "it one image and reads one back")
    crop = params.get("crop_size")
    return UnetPostProcessing(op, network, tuple(crop) if crop else None, bool(params.get("residual", False)),
                              name="checkpoint").eval()
