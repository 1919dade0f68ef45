"""Reproducible training of the built-in models on generated, offline data.

``halluview-cli train unet-mri-4x`` runs :func:`train_model`; the weights land in resources/models/<name>/ and the
card (data, command, parameter count, held-out metrics) beside them.
"""
from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from ..atomic import atomic_file, write_text_atomic
from ..phantoms import make_phantom
from ..physics.mri import build_mri_operator
from .learned import VarNetReconstruction
from .zoo import get_model

HELD_OUT_SEED = 100_000  # validation phantoms use seeds from here on, training seeds stay below


def phantom_set(size: int, count: int, seed0: int) -> np.ndarray:
    """Half brain-like, half ellipse phantoms, randomly flipped / rotated by 90°: float32 (count, size, size)."""
    rng = np.random.default_rng(seed0)
    images = []
    for i in range(count):
        image = make_phantom("brain" if i % 2 == 0 else "ellipses", size, seed0 + i)
        image = np.rot90(image, k=int(rng.integers(4)))
        images.append(image[:, ::-1] if rng.uniform() < 0.5 else image)
    return np.ascontiguousarray(np.stack(images), dtype=np.float32)


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
    """The model on a training batch: networks that take the mask (VarNet) get each image's own."""
    if isinstance(model, VarNetReconstruction):
        return model.network(torch.view_as_real(kspace), masks.reshape(len(masks), 1, 1, -1, 1))
    return model(kspace)


def train_model(name: str, out_dir: str | Path | None = None, steps: int | None = None, batch_size: int | None = None,
                seed: int = 0, lr: float = 1e-3, log: Callable[[str], None] = print) -> Path:
    """Train built-in model ``name`` from scratch; returns the weights path. Deterministic for a seed on CPU."""
    entry = get_model(name)
    steps = steps or entry.extra.get("steps", 1500)
    batch_size = batch_size or entry.extra.get("batch_size", 8)
    if entry.modality != "mri":
        raise NotImplementedError(f"training for {entry.modality} models is not implemented yet")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    size = entry.operator["image_size"]
    train_images = torch.from_numpy(phantom_set(size, 1200, seed0=0))
    # Each batch brings its own masked k-space; the model's operator must not mask it again (it would train on
    # the intersection of two masks), so training wraps the network around an unmasked operator.
    model = entry.build(build_mri_operator((size, size), mask_type="full"))
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, steps)
    started = time.time()
    for step in range(steps):
        images = train_images[rng.integers(len(train_images), size=batch_size)]
        kspace, masks = _mri_batch(images, entry.operator, rng)
        loss = torch.nn.functional.l1_loss(_predict(model, kspace, masks), images)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        if step % 100 == 0 or step == steps - 1:
            log(f"step {step:5d}  L1 {loss.item():.4f}  {time.time() - started:.0f} s")
    out = Path(out_dir) if out_dir else entry.folder
    out.mkdir(parents=True, exist_ok=True)
    weights = out / "weights.pt"
    with atomic_file(weights) as temporary:  # the network alone, fastMRI's key names, no operator buffers
        torch.save({k: v.half() for k, v in model.network.state_dict().items()}, temporary)
    coils = entry.operator.get("n_coils", 1)
    card = {"name": name, "title": entry.title, "operator": entry.operator, "architecture": model.config(),
            "parameters": sum(p.numel() for p in model.parameters()),
            "training": {"data": "1200 generated phantoms (600 brain-like with lesions, 600 random ellipses), "
                                 f"{size}×{size}, random flips / 90° rotations, a fresh fastMRI random mask per image"
                                 + (f" and fresh simulated {coils}-coil sensitivities" if coils > 1 else ""),
                         "loss": "L1", "optimiser": f"Adam lr {lr}, cosine decay", "steps": steps,
                         "batch_size": batch_size, "seed": seed, "seconds": round(time.time() - started, 1),
                         "command": f"halluview-cli train {name} --steps {steps} --seed {seed}",
                         "weights_dtype": "float16 (loaded as float32)"},
            "date": dt.date.today().isoformat()}
    write_text_atomic(out / "card.json", json.dumps(card, indent=2) + "\n")
    return weights
