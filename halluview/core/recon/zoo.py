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

    @property
    def folder(self):
        return resource_path("models", self.name)

    @property
    def weights_path(self):
        return self.folder / "weights.pt"

    def card(self) -> dict:
        """The model card (training data, command, clean metrics); {} when the model was never trained."""
        path = self.folder / "card.json"
        return json.loads(path.read_text()) if path.is_file() else {}

    def load(self, op: Operator) -> nn.Module:
        """The model around ``op`` with its shipped weights, in eval mode."""
        model = self.build(op)
        load_into(model, read_state_dict(self.weights_path), self.weights_path)
        return model.eval()


MODELS: dict[str, ModelEntry] = {}


def register(entry: ModelEntry) -> ModelEntry:
    MODELS[entry.name] = entry
    return entry


def get_model(name: str) -> ModelEntry:
    if name not in MODELS:
        raise KeyError(f"no built-in model named {name!r}; available: {', '.join(sorted(MODELS))}")
    return MODELS[name]


def _mri_unet(op: Operator) -> nn.Module:
    return UnetPostProcessing(op, Unet(1, 1, chans=16, num_pool_layers=4), name="unet-mri-4x")


register(ModelEntry(
    name="unet-mri-4x",
    title="U-Net, single-coil MRI, 4× random undersampling (trained on brain-like phantoms)",
    modality="mri",
    operator={"kind": "mri", "image_size": 128, "acceleration": 4.0, "center_fraction": 0.08,
              "mask_type": "random", "n_coils": 1, "mask_seed": 0},
    build=_mri_unet,
))
