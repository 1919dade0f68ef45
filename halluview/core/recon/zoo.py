"""The model zoo: built-in reconstructors registered by name, each with its weights and a model card.

An entry knows its modality, its default operator settings, how to build the untrained architecture around an
operator, and where its weights live (``resources/models/<name>/weights.pt`` beside ``card.json``).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Callable

from torch import nn

from ..physics.base import Operator
from ..physics.noise import WATER_PIXEL_OPTICAL_DEPTH
from ..resources import resource_path
from .checkpoints import load_into, read_state_dict
from .fastmri_nets import Unet
from .learned import UnetPostProcessing


@dataclass(frozen=True)
class ModelEntry:
    """One built-in model.

    Attributes
    ----------
    name : str
        Registry key, e.g. "unet-mri-4x".
    title : str
        What a clinician reads in the model picker.
    modality : str
        "mri", "ct" or "denoise": which operator family it reconstructs from.
    operator : dict
        The operator settings it was trained for (image size, acceleration, mask, coils, angles, noise).
    build : callable
        ``build(op) -> nn.Module``: the architecture around an operator, weights not loaded.
    """

    name: str
    title: str
    modality: str
    operator: dict
    build: Callable[[Operator], nn.Module]
    extra: dict = field(default_factory=dict)
    loader: Callable[[Operator], nn.Module] | None = None  # plug-ins: builds the model with its weights
    card_data: dict | None = None  # plug-ins: the card, when it is not a card.json in resources

    @property
    def trainable(self) -> bool:
        """Networks have weights; classical entries have one parameter tuned on validation data instead."""
        return "tune" not in self.extra

    @property
    def folder(self):
        return resource_path("models", self.name)

    @property
    def weights_path(self):
        return self.folder / "weights.pt"

    def card(self) -> dict:
        """The model card (training data, command, clean metrics); {} when the model was never trained."""
        if self.card_data is not None:
            return dict(self.card_data)
        path = self.folder / "card.json"
        return json.loads(path.read_text()) if path.is_file() else {}

    def operator_settings(self) -> dict:
        """Every field of an experiment's operator section, as this model was made for (defaults filled in)."""
        from dataclasses import asdict

        from ..settings import OperatorConfig

        fields = asdict(OperatorConfig())
        return {**fields, **{k: v for k, v in self.operator.items() if k in fields}}

    @property
    def default_surrogate(self) -> str | None:
        """The model a transfer attack goes through unless the user says otherwise (for reconstructions too slow
        to attack directly at every step); None: attacked directly."""
        return self.extra.get("default_surrogate")

    def acquisition(self) -> dict:
        """The operator settings picking this model brings (those its entry names, bar the evaluation mask seed)."""
        return {k: v for k, v in self.operator_settings().items() if k in self.operator and k != "mask_seed"}

    def make_operator(self) -> Operator:
        """The operator the model was trained and evaluated with (noise excluded: see ``operator['noise']``)."""
        from ..physics.factory import build_operator

        size = self.operator["image_size"]
        return build_operator(self.operator_settings(), (size, size))

    def load(self, op: Operator) -> nn.Module:
        """The model around ``op`` with its shipped weights, in eval mode."""
        if self.loader is not None:
            return self.loader(op).eval()
        if not self.trainable:
            return self.build(op).eval()
        model = self.build(op)
        load_into(model.network, read_state_dict(self.weights_path), self.weights_path)
        return model.eval()


class ModelRegistry(dict):
    """The built-in models by name; installed plug-ins join on first need, once: when a name is looked up that no
    built-in model has, or when the registry is listed. Importing the zoo loads no plug-in."""

    _discovered = False

    def _discover(self) -> None:
        if not self._discovered:
            self._discovered = True
            discover_plugins()

    def __contains__(self, name) -> bool:
        if not dict.__contains__(self, name):
            self._discover()
        return dict.__contains__(self, name)

    def __getitem__(self, name) -> ModelEntry:
        if not dict.__contains__(self, name):
            self._discover()
        return dict.__getitem__(self, name)

    def get(self, name, default=None):
        return self[name] if name in self else default

    def __iter__(self):
        self._discover()
        return dict.__iter__(self)

    def __len__(self) -> int:
        self._discover()
        return dict.__len__(self)

    def keys(self):
        self._discover()
        return dict.keys(self)

    def values(self):
        self._discover()
        return dict.values(self)

    def items(self):
        self._discover()
        return dict.items(self)


MODELS: dict[str, ModelEntry] = ModelRegistry()


def register(entry: ModelEntry) -> ModelEntry:
    MODELS[entry.name] = entry
    return entry


def get_model(name: str) -> ModelEntry:
    if name not in MODELS:
        raise KeyError(f"no built-in model named {name!r}; available: {', '.join(sorted(MODELS))}")
    return MODELS[name]


def _mri_4x(n_coils: int) -> dict:
    """The acquisition every built-in MRI model is made for: fastMRI random mask, 4×, mask seed 0; networks train
    on 128×128 patches and run at any size (``image_size`` is the training and phantom-evaluation size)."""
    return {"kind": "mri", "image_size": 128, "acceleration": 4.0, "center_fraction": 0.08,
            "mask_type": "random", "n_coils": n_coils, "mask_seed": 0}


def _mri_unet(op: Operator) -> nn.Module:
    return UnetPostProcessing(op, Unet(1, 1, chans=16, num_pool_layers=4), name="unet-mri-4x")


register(ModelEntry(
    name="unet-mri-4x",
    title="U-Net, single-coil MRI, 4× random undersampling (trained on real brain MRI and phantoms)",
    modality="mri",
    operator=_mri_4x(n_coils=1),
    build=_mri_unet,
    extra={"steps": 1500, "batch_size": 8, "real_fraction": 0.5},
))


def _mri_varnet(op: Operator) -> nn.Module:
    from .learned import VarNetReconstruction
    from .varnet import VarNet

    return VarNetReconstruction(op, VarNet(num_cascades=4, sens_chans=4, sens_pools=3, chans=8, pools=3),
                                name="varnet-mri-4x-4coil")


register(ModelEntry(
    name="varnet-mri-4x-4coil",
    title="E2E-VarNet (4 cascades), 4-coil MRI, 4× random undersampling (trained on real brain MRI and phantoms)",
    modality="mri",
    operator=_mri_4x(n_coils=4),
    build=_mri_varnet,
    extra={"steps": 800, "batch_size": 4, "real_fraction": 0.5},
))


def _mri_dncnn(op: Operator) -> nn.Module:
    from .cnn import DnCNN
    from .learned import PostProcessing

    return PostProcessing(op, DnCNN(depth=10, channels=32), name="dncnn-mri-4x", arch="dncnn")


register(ModelEntry(
    name="dncnn-mri-4x",
    title="DnCNN, single-coil MRI 4× (transfer surrogate: same data as the U-Net, another architecture)",
    modality="mri",
    operator=_mri_4x(n_coils=1),
    build=_mri_dncnn,
    extra={"steps": 1000, "batch_size": 8, "real_fraction": 0.5, "surrogate_for": "unet-mri-4x"},
))

def _mri_diffusion(op: Operator) -> nn.Module:
    from .diffusion import DiffusionRecon
    from .score_net import ScoreNet

    return DiffusionRecon(op, ScoreNet(chans=16, mults=(1, 2, 4)), name="diffusion-mri-4x")


# A prior trained on images alone, sampled with data consistency: every reconstruction runs the sampler (50 network
# evaluations, ~1 s at 128² on 2 CPU threads), and two reconstructions from different seeds differ; by default it
# is attacked by transfer. Its sampler settings are chosen on validation phantoms (``sampler_validation``).
register(ModelEntry(
    name="diffusion-mri-4x",
    title="Diffusion prior (DDIM with data consistency), single-coil MRI 4× (image prior trained on real brain MRI "
          "and phantoms, never on measurements)",
    modality="mri",
    operator=_mri_4x(n_coils=1),
    build=_mri_diffusion,
    extra={"trainer": "diffusion", "steps": 5000, "batch_size": 8, "patch": 64, "real_fraction": 0.5,
           "held_out_count": 8, "sampler_seeds": (0, 1, 2), "real_max_side": 128, "default_surrogate": "unet-mri-4x",
           "sampler_validation": ((10, 0.5), (25, 0.0), (25, 0.5), (25, 1.0), (50, 0.5), (50, 1.0), (100, 1.0))},
))


def _ct(n_angles: int, angles: str = "sparse", noise: dict | None = None) -> dict:
    return {"kind": "ct", "image_size": 128, "angles": angles, "n_angles": n_angles, "noise": noise}


def _fbpconvnet(op: Operator) -> nn.Module:
    return UnetPostProcessing(op, Unet(1, 1, chans=16, num_pool_layers=4), residual=True,
                              name="fbpconvnet-ct-sparse")


register(ModelEntry(
    name="fbpconvnet-ct-sparse",
    title="FBPConvNet (residual U-Net on FBP), sparse-view CT, 30 views (trained on real CT and phantoms)",
    modality="ct",
    operator=_ct(30),
    build=_fbpconvnet,
    extra={"steps": 1000, "batch_size": 8, "real_fraction": 0.5},
))


def _redcnn(op: Operator) -> nn.Module:
    from .cnn import RedCNN
    from .learned import PostProcessing

    return PostProcessing(op, RedCNN(filters=32), normalise=False, name="redcnn-ct-lowdose", arch="red-cnn")


register(ModelEntry(
    name="redcnn-ct-lowdose",
    title="RED-CNN denoiser on FBP, low-dose CT (3000 photons per ray, 180 views)",
    modality="ct",
    operator=_ct(180, "full", {"kind": "poisson_transmission", "incident_flux": 3000.0,
                               "mu_scale": WATER_PIXEL_OPTICAL_DEPTH}),
    build=_redcnn,
    extra={"steps": 1000, "batch_size": 16, "patch": 64, "real_fraction": 0.5},
))


def tuned_value(name: str, default: float) -> float:
    """The parameter a classical entry's card records as tuned on the validation set (``default`` before tuning)."""
    card = MODELS[name].card()
    return float(card.get("tuned", {}).get("value", default))


def _classical_entry(name: str, title: str, param: str, candidates: list[float], default: float,
                     make: Callable[[Operator, float], nn.Module], **extra) -> ModelEntry:
    return ModelEntry(
        name=name, title=title, modality="mri", operator=_mri_4x(n_coils=1),
        build=lambda op: make(op, tuned_value(name, default)),
        extra={"tune": {"param": param, "candidates": candidates, "make": make}, **extra})


def _tv(op: Operator, lam: float) -> nn.Module:
    from .classical import TVRecon

    return TVRecon(op, lam=lam, n_iter=100)


def _wavelet(op: Operator, threshold: float) -> nn.Module:
    from .classical import WaveletRecon

    return WaveletRecon(op, threshold=threshold, wavelet="db4", levels=3, n_iter=50)


register(_classical_entry("tv-mri-4x", "Total variation, single-coil MRI 4× (λ tuned on validation phantoms)",
                          "lam", [0.005, 0.01, 0.02, 0.05, 0.1, 0.2], 0.05, _tv))
register(_classical_entry("wavelet-mri-4x", "Wavelet (db4) sparsity, single-coil MRI 4× (threshold tuned on "
                          "validation phantoms)", "threshold", [0.0, 0.0005, 0.001, 0.0025, 0.005, 0.01], 0.0005,
                          _wavelet))



def _deep_decoder(op: Operator, iterations: float) -> nn.Module:
    from .untrained import TUNED_MRI_128, DeepDecoderRecon

    settings = {**TUNED_MRI_128, "iterations": int(iterations)}
    shape = getattr(op, "image_shape", (128, 128))  # every operator built for an image records its shape
    return DeepDecoderRecon(op, image_size=shape, name="deep-decoder-mri-4x", **settings)


# Un-trained: a fresh decoder is fitted to each measurement (~8 s per 128² image on one core), so its card scores
# 8 held-out images and its iteration budget (the early stop) is chosen on 8 validation images. A direct attack
# differentiates through the whole fit (minutes per step, GBs of memory): by default it is attacked by transfer.
register(_classical_entry("deep-decoder-mri-4x", "Deep Decoder (un-trained network fitted to each scan), "
                          "single-coil MRI 4× (iterations tuned on validation phantoms)", "iterations",
                          [100, 200, 400], 400, _deep_decoder, held_out_count=8, validation_count=8,
                          real_max_side=128,
                          default_surrogate="unet-mri-4x",
                          data_words="no training data: a freshly initialised decoder is fitted to each measurement; "
                                     "the number of fitting iterations is chosen by validation SSIM"))

PLUGIN_GROUP = "halluview.models"
PLUGIN_ERRORS: dict[str, str] = {}  # plug-in name → why it was not registered (shown by `halluview-cli models`)


def discover_plugins() -> list[str]:
    """Register the models of installed plug-ins (entry-point group ``halluview.models``).

    Each entry point names a factory ``factory() -> ModelEntry`` (its ``loader`` builds the module with its
    weights around an operator; ``operator`` holds the settings it expects; ``card_data`` its card). A plug-in
    that fails is skipped and its error kept in :data:`PLUGIN_ERRORS`. Returns the names registered.
    """
    from importlib.metadata import entry_points

    registered = []
    for point in entry_points(group=PLUGIN_GROUP):
        try:
            entry = point.load()()
            if not isinstance(entry, ModelEntry):
                raise TypeError(f"the factory returned {type(entry).__name__}, not a ModelEntry")
            if entry.name in MODELS and entry.name not in registered:
                raise ValueError(f"a model named {entry.name!r} already exists")
        except Exception as err:  # noqa: BLE001 - a broken plug-in must not take the app down
            PLUGIN_ERRORS[point.name] = f"{type(err).__name__}: {err}"
            continue
        register(entry)
        registered.append(entry.name)
    return registered
