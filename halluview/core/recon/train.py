"""Reproducible training of the built-in models on generated, offline data.

``halluview-cli train unet-mri-4x`` runs :func:`train_model`; the weights land in resources/models/<name>/ and the
card (data, command, parameter count, held-out metrics) beside them.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from ..atomic import atomic_file, write_text_atomic
from ..physics.mri import build_mri_operator
from ..physics.noise import noisy_measurement
from .learned import VarNetReconstruction
from .training_data import HELD_OUT_SEED, describe, phantom_set, training_set  # noqa: F401 - re-exported
from .zoo import ModelEntry, get_model

TRAINING_COUNT = 1200


def _mri_batch(images: torch.Tensor, entry_operator: dict,
               rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Masked k-space of ``images`` with a fresh random mask (and, multi-coil, fresh coil maps) per image, as
    fastMRI trains; returns (k-space (B, C, H, W), masks (B, W))."""
    size = images.shape[-1]
    kspace, masks = [], []
    for image in images:
        op = build_mri_operator((size, size), entry_operator["acceleration"], entry_operator["center_fraction"],
                                entry_operator["mask_type"], entry_operator.get("n_coils", 1),
                                seed=int(rng.integers(2 ** 31)))
        kspace.append(op(image[None]))
        masks.append(op.mask.reshape(-1))
    return torch.cat(kspace), torch.stack(masks)


def _predict(model: torch.nn.Module, kspace: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """The model on an MRI training batch: networks that take the mask (VarNet) get each image's own."""
    if isinstance(model, VarNetReconstruction):
        return model.network(torch.view_as_real(kspace), masks.reshape(len(masks), 1, 1, -1, 1))
    return model(kspace)


def _patches(inputs: torch.Tensor, targets: torch.Tensor, size: int,
             rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """One random ``size``² patch per image, the same place in input and target (RED-CNN trains on patches)."""
    tops = rng.integers(inputs.shape[-2] - size + 1, size=len(inputs))
    lefts = rng.integers(inputs.shape[-1] - size + 1, size=len(inputs))
    crop = lambda t: torch.stack([im[a:a + size, b:b + size] for im, a, b in zip(t, tops, lefts)])  # noqa: E731
    return crop(inputs), crop(targets)


class _Trainer:
    """The model being trained and how one batch of images becomes (prediction, target)."""

    def __init__(self, entry: ModelEntry):
        self.entry = entry
        if entry.modality == "mri":
            # Each batch brings its own masked k-space; the model's operator must not mask it again (it would
            # train on the intersection of two masks), so training wraps the network around an unmasked operator.
            size = entry.operator["image_size"]
            self.model = entry.build(build_mri_operator((size, size), mask_type="full"))
        else:
            self.op = entry.make_operator()
            self.model = entry.build(self.op)

    def outputs(self, images: torch.Tensor, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        entry = self.entry
        if entry.modality == "mri":
            kspace, masks = _mri_batch(images, entry.operator, rng)
            return _predict(self.model, kspace, masks), images
        with torch.no_grad():  # a fixed operator; a fresh noise draw per batch
            y = self.op(images)
            if entry.operator.get("noise"):
                y = noisy_measurement(self.op, y, entry.operator["noise"],
                                      torch.Generator().manual_seed(int(rng.integers(2 ** 31))))
        patch = entry.extra.get("patch")
        if patch is None:
            return self.model(y), images
        with torch.no_grad():
            inputs, targets = _patches(self.op.baseline(y), images, patch, rng)
        return self.model.process(inputs), targets


def _data_words(entry: ModelEntry, size: int, count: int) -> str:
    words = describe(size, count, entry.extra.get("real_fraction", 0.0))
    if entry.modality == "mri":
        coils = entry.operator.get("n_coils", 1)
        words += ", a fresh fastMRI random mask per image"
        return words + (f" and fresh simulated {coils}-coil sensitivities" if coils > 1 else "")
    noise = entry.operator.get("noise")
    words += f"; a fresh {noise['kind']} noise draw per batch" if noise else ""
    patch = entry.extra.get("patch")
    return words + (f"; one random {patch}×{patch} patch of each FBP per batch" if patch else "")


def train_model(name: str, out_dir: str | Path | None = None, steps: int | None = None, batch_size: int | None = None,
                seed: int = 0, lr: float = 1e-3, log: Callable[[str], None] = print) -> Path:
    """Train built-in model ``name`` from scratch; returns the weights path. Deterministic for a seed on CPU."""
    entry = get_model(name)
    steps = steps or entry.extra.get("steps", 1500)
    batch_size = batch_size or entry.extra.get("batch_size", 8)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    size, count = entry.operator["image_size"], TRAINING_COUNT
    train_images = torch.from_numpy(training_set(size, count, seed0=0,
                                                 real_fraction=entry.extra.get("real_fraction", 0.0)))
    trainer = _Trainer(entry)
    model = trainer.model.train()
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, steps)
    started = time.time()
    for step in range(steps):
        images = train_images[rng.integers(len(train_images), size=batch_size)]
        prediction, target = trainer.outputs(images, rng)
        loss = torch.nn.functional.l1_loss(prediction, target)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        if step % 100 == 0 or step == steps - 1:
            log(f"step {step:5d}  L1 {loss.item():.4f}  {time.time() - started:.0f} s")
    out = Path(out_dir) if out_dir else entry.folder
    out.mkdir(parents=True, exist_ok=True)
    weights = out / "weights.pt"
    with atomic_file(weights) as temporary:  # the network alone (fastMRI's key names for its nets), no operator
        torch.save({k: v.half() if v.is_floating_point() else v for k, v in model.network.state_dict().items()},
                   temporary)
    card = {"name": name, "title": entry.title, "operator": entry.operator, "architecture": model.config(),
            "parameters": sum(p.numel() for p in model.parameters()),
            "training": {"data": _data_words(entry, size, count),
                         "loss": "L1", "optimiser": f"Adam lr {lr}, cosine decay", "steps": steps,
                         "batch_size": batch_size, "seed": seed, "seconds": round(time.time() - started, 1),
                         "command": f"halluview-cli train {name} --steps {steps} --seed {seed}",
                         "weights_dtype": "float16 (loaded as float32)",
                         "hardware": f"{os.cpu_count()}-core CPU, {torch.get_num_threads()} torch thread(s)"},
            "date": dt.date.today().isoformat()}
    if "surrogate_for" in entry.extra:
        card["surrogate_for"] = entry.extra["surrogate_for"]
    write_text_atomic(out / "card.json", json.dumps(card, indent=2) + "\n")
    return weights
