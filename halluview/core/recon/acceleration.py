"""Faster arithmetic for a network reconstruction: bf16 autocast, channels-last memory and torch.compile.

Only the real-valued CNNs inside a reconstruction change: the network a post-processing applies to the baseline
image (U-Net, FBPConvNet, DnCNN, RED-CNN, a TorchScript file) and the U-Nets between an E2E-VarNet's FFTs. FFTs,
coil combination, normalisation and data consistency stay in fp32 / complex64 (torch has no bf16 FFT on the CPU),
and each CNN's output is cast back to float32 in the default memory format. The fast module is a copy: the
untouched fp32 reconstruction stays reachable as :attr:`AcceleratedRecon.exact`, because a run's final numbers are
computed in fp32 (:func:`halluview.core.attacks.precision.precision_effect` reports the difference).

What is refused, and why (:func:`refusal`): classical solvers and the Deep Decoder have no trained CNN to speed up;
the diffusion sampler runs its network 50 times per reconstruction under gradient checkpointing; test-time
training adapts its network in fp32; torch.compile cannot compile TorchScript. A transfer surrogate is never
accelerated: only the attacked reconstruction is.
"""
from __future__ import annotations

import copy
import warnings
from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn

from ..errors import CLI, ExperimentError

PRECISIONS = ("fp32", "bf16")
"""Arithmetic of the attacked network: fp32, or bf16 autocast around its CNNs."""
DEFAULT_BACKEND = "inductor"
"""torch.compile's backend (needs a C++ compiler on the CPU; "aot_eager" needs none and is for tests)."""
SSIM_GOAL = 1e-3
"""The largest |ΔSSIM| bf16 may cause against fp32 (the issue's goal)."""
_NON_LEAF_GRAD = "The .grad attribute of a Tensor that is not a leaf"  # torch's warning, harmless here


@dataclass(frozen=True)
class AccelerationSettings:
    """How the attacked network is computed (serialisable; the defaults change nothing).

    Attributes
    ----------
    precision : str
        "fp32", or "bf16": torch.autocast to bfloat16 around the CNNs only.
    compile : bool
        torch.compile each CNN (``backend``).
    channels_last : bool
        The CNNs' weights and 4-D inputs in torch.channels_last memory format.
    backend : str
        torch.compile's backend when ``compile`` is on.
    """

    precision: str = "fp32"
    compile: bool = False
    channels_last: bool = False
    backend: str = DEFAULT_BACKEND

    @property
    def plain(self) -> bool:
        """Whether nothing changes: fp32, eager, default memory format."""
        return self.precision == "fp32" and not self.compile and not self.channels_last

    def to_dict(self) -> dict:
        return asdict(self)

    def words(self) -> str:
        """E.g. "bf16 autocast, channels-last, torch.compile (inductor)"; "fp32" when plain."""
        parts = ["bf16 autocast"] if self.precision == "bf16" else []
        parts += ["channels-last"] if self.channels_last else []
        parts += [f"torch.compile ({self.backend})"] if self.compile else []
        return ", ".join(parts) or "fp32"


def refusal(settings: AccelerationSettings, name: str, ttt: dict | None = None) -> str | None:
    """Why reconstruction ``name`` (with test-time training ``ttt``) cannot be computed as ``settings`` say; None
    when it can: plain settings, or a feed-forward network (a built-in or plug-in network model, a checkpoint, a
    TorchScript file, which torch.compile cannot compile). Nothing is built."""
    from .factory import RECONSTRUCTORS
    from .zoo import MODELS

    if settings.plain:
        return None
    if ttt is not None:
        return "test-time training adapts the network in fp32"
    if name == "torchscript":
        return "torch.compile cannot compile a TorchScript network" if settings.compile else None
    if name == "checkpoint":
        return None
    model = MODELS.get(name)
    if model is None:  # an unknown name is the reconstruction check's to name
        return f"{name} is a classical reconstruction, with no network" if name in RECONSTRUCTORS else None
    if not model.trainable:
        return f"{name} has no trained network (it is fitted or solved for each scan)"
    if model.extra.get("trainer") == "diffusion":
        return f"{name} samples its network many times per reconstruction under gradient checkpointing"
    return None


NORM_LAYERS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.InstanceNorm1d, nn.InstanceNorm2d,
               nn.InstanceNorm3d, nn.GroupNorm, nn.LayerNorm)
"""Layers that stay fp32 under bf16 (the usual mixed-precision recipe): their statistics in bf16 cost the U-Net
1.7e-3 SSIM against the ground truth at 128², 3.3e-3 at 320²; in fp32, 1e-4 and 1e-5. The output layer stays fp32
too (:func:`output_layer_in_fp32`): a bf16 output is rounded to 3 digits, which cost 1.1e-3 SSIM on y + δ at 128²
(3e-4 in fp32)."""


class Float32(nn.Module):
    """A layer computed in fp32 inside a bf16 autocast region (its input cast up, autocast off)."""

    def __init__(self, layer: nn.Module):
        super().__init__()
        self.layer = layer

    def forward(self, x: Tensor) -> Tensor:
        with torch.autocast(device_type=x.device.type, enabled=False):
            return self.layer(x.float())


def norms_in_fp32(network: nn.Module) -> None:
    """Wrap each normalisation layer of ``network`` (in place) in :class:`Float32`; TorchScript is left as is."""
    if isinstance(network, torch.jit.ScriptModule):
        return
    for module in list(network.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, NORM_LAYERS):
                setattr(module, name, Float32(child))


def output_layer_in_fp32(network: nn.Module, x: Tensor) -> None:
    """Wrap the layer that writes ``network``'s output (the last layer with weights to run on ``x``, found by
    running it once) in :class:`Float32`, in place; TorchScript is left as is."""
    if isinstance(network, torch.jit.ScriptModule):
        return
    ran = []
    layers = [m for m in network.modules() if not list(m.children()) and list(m.parameters(recurse=False))]
    hooks = [layer.register_forward_hook(lambda layer, inputs, output: ran.append(layer)) for layer in layers]
    try:
        with torch.no_grad():
            network(x)
    finally:
        for hook in hooks:
            hook.remove()
    for module in list(network.modules()):
        for name, child in list(module.named_children()):
            if ran and child is ran[-1] and not isinstance(module, Float32):
                setattr(module, name, Float32(child))


class FastNetwork(nn.Module):
    """One real-valued CNN computed the fast way; (B, C, H, W) float32 in, float32 out (default memory format).

    Parameters
    ----------
    network : nn.Module
        The CNN; it is changed in place (channels-last weights), so pass a copy.
    settings : AccelerationSettings
        What to apply.
    """

    def __init__(self, network: nn.Module, settings: AccelerationSettings):
        super().__init__()
        self.network, self.settings = network, settings
        if settings.precision == "bf16":
            norms_in_fp32(network)
        if settings.channels_last:
            with warnings.catch_warnings():  # a TorchScript module's _apply reads .grad of non-leaf tensors
                warnings.filterwarnings("ignore", _NON_LEAF_GRAD, UserWarning)
                network.to(memory_format=torch.channels_last)
        self.__dict__["compiled"], self.ready = None, False

    def prepare(self, x: Tensor) -> None:
        """At the first call: the output layer in fp32 (bf16), then compile (it wraps ``network`` itself, so it is
        no submodule: no second copy of the weights in the state_dict)."""
        if self.settings.precision == "bf16":
            output_layer_in_fp32(self.network, x)
        if self.settings.compile:
            self.__dict__["compiled"] = torch.compile(self.network, backend=self.settings.backend)
        self.ready = True

    def forward(self, x: Tensor) -> Tensor:
        if not self.ready:
            self.prepare(x)
        dtype = x.dtype
        if self.settings.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        bf16 = self.settings.precision == "bf16"
        with torch.autocast(device_type=x.device.type, dtype=torch.bfloat16, enabled=bf16):
            output = self._run(x)
        # What follows the CNN (FFTs, views, normalisation) expects the exact network's dtype and layout.
        return output.to(dtype).contiguous()

    def _run(self, x: Tensor) -> Tensor:
        if self.compiled is None:
            return self.network(x)
        from torch._dynamo.exc import TorchDynamoException

        try:
            with warnings.catch_warnings():  # dynamo reads .grad of the non-leaf input while tracing
                warnings.filterwarnings("ignore", _NON_LEAF_GRAD, UserWarning)
                return self.compiled(x)
        except TorchDynamoException as err:  # a missing compiler, an unsupported operation: one line, no traceback
            cause = getattr(err, "inner_exception", None) or err.__cause__ or err
            text = str(cause).strip().splitlines()
            raise ExperimentError(f"torch.compile (backend {self.settings.backend}) failed: {type(cause).__name__}"
                                  f"{': ' + text[0] if text else ''}", {CLI: "run without --compile"}) from None


def cnn_slots(recon: nn.Module) -> list[tuple[nn.Module, str]]:
    """(owner, attribute name) of each real-valued CNN inside ``recon``: a post-processing's network, a
    TorchScript network, each U-Net of an E2E-VarNet (between its FFTs); [] when there is none."""
    from .learned import PostProcessing, TorchScriptPostProcessing
    from .varnet import NormUnet

    slots = []
    for module in recon.modules():
        if isinstance(module, NormUnet):
            slots.append((module, "unet"))
        elif isinstance(module, (PostProcessing, TorchScriptPostProcessing)):
            slots.append((module, next(n for n, child in module.named_children() if child is module.network)))
    return slots


class AcceleratedRecon(nn.Module):
    """f(y) with its CNNs computed the fast way (:attr:`fast`); :attr:`exact` is the untouched fp32 module.

    Parameters
    ----------
    exact : nn.Module
        A network reconstruction; left as it is.
    settings : AccelerationSettings
        Not plain.
    """

    def __init__(self, exact: nn.Module, settings: AccelerationSettings):
        super().__init__()
        if not cnn_slots(exact):
            raise ExperimentError(f"{getattr(exact, 'name', type(exact).__name__)} has no network to compute in "
                                  f"{settings.words()}")
        from ..physics.base import Operator

        shared = {id(m): m for m in exact.modules() if isinstance(m, Operator)}  # one acquisition for both
        if "_accelerated" in exact.__dict__:  # the copy starts without the cache of accelerated versions
            shared[id(exact.__dict__["_accelerated"])] = {}
        fast = copy.deepcopy(exact, shared)
        for owner, name in cnn_slots(fast):
            setattr(owner, name, FastNetwork(getattr(owner, name), settings))
        self.exact, self.fast, self.settings = exact, fast, settings

    def forward(self, y: Tensor) -> Tensor:
        return self.fast(y)

    def config(self) -> dict:
        return self.exact.config() if hasattr(self.exact, "config") else {}


def accelerated(recon: nn.Module, settings: AccelerationSettings) -> nn.Module:
    """``recon`` computed as ``settings`` say: ``recon`` itself when they are plain, else an
    :class:`AcceleratedRecon` around it, made once per (recon, settings) so that runs sharing a clean
    reconstruction share it too (one compilation; batched cells still batch).

    Raises
    ------
    ExperimentError
        When ``recon`` has no CNN to accelerate.
    """
    if settings.plain:
        return recon
    made = recon.__dict__.setdefault("_accelerated", {})
    if settings not in made:
        made[settings] = AcceleratedRecon(recon, settings)
    return made[settings]
