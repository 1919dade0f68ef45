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
from .real_anatomy import describe_split
from .training_data import HELD_OUT_SEED, ct_targets, describe, phantom_set, training_set  # noqa: F401
from .zoo import ModelEntry, get_model

TRAINING_COUNT = 1200  # MRI training patches
CT_TARGET_COUNT = 96  # whole CT images (half phantoms, half real slices) that CT patches are cut from


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


def _patch_at(images: list[torch.Tensor], size: int, rng: np.random.Generator) -> tuple[int, int]:
    """A random top-left corner for a ``size``² patch, the same in every image of ``images`` (same shape)."""
    rows, cols = images[0].shape[-2:]
    return int(rng.integers(rows - size + 1)), int(rng.integers(cols - size + 1))


def ct_pool(entry: ModelEntry, targets: list[np.ndarray], rng: np.random.Generator,
            draws: int = 3) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(FBP, target) pairs of whole images, each simulated at its own size with the model's operator settings
    (``draws`` noise draws per image when the acquisition is noisy): training cuts its patches from these."""
    from ..physics.factory import build_operator

    operators, pool = {}, []
    noise = entry.operator.get("noise")
    for target in targets:
        size = target.shape[-1]
        if size not in operators:
            operators[size] = build_operator(entry.operator_settings(), (size, size))
        op, x = operators[size], torch.from_numpy(target)[None]
        with torch.no_grad():
            y = op(x)
            for _ in range(draws if noise else 1):
                noisy = y if not noise else noisy_measurement(
                    op, y, noise, torch.Generator().manual_seed(int(rng.integers(2 ** 31))))
                pool.append((op.baseline(noisy)[0], x[0]))
    return pool


class _Trainer:
    """The model being trained and how one batch becomes (prediction, target): MRI patches are simulated as
    whole images with a fresh mask each; CT patches are cut from :func:`ct_pool`'s whole-slice FBPs."""

    def __init__(self, entry: ModelEntry, rng: np.random.Generator):
        self.entry = entry
        size, fraction = entry.operator["image_size"], entry.extra.get("real_fraction", 0.0)
        if entry.modality == "mri":
            # Each batch brings its own masked k-space; the model's operator must not mask it again (it would
            # train on the intersection of two masks), so training wraps the network around an unmasked operator.
            self.model = entry.build(build_mri_operator((size, size), mask_type="full"))
            self.images = torch.from_numpy(training_set(size, TRAINING_COUNT, seed0=0, real_fraction=fraction,
                                                        modality="mri"))
        else:
            self.model = entry.build(entry.make_operator())
            self.pool = ct_pool(entry, ct_targets(CT_TARGET_COUNT, seed0=0, real_fraction=fraction), rng)
        self.patch = entry.extra.get("patch", size)

    def outputs(self, batch_size: int, rng: np.random.Generator,
                device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        if self.entry.modality == "mri":
            images = self.images[rng.integers(len(self.images), size=batch_size)]
            kspace, masks = _mri_batch(images, self.entry.operator, rng)
            return _predict(self.model, kspace.to(device), masks.to(device)), images.to(device)
        inputs, targets = [], []
        for index in rng.integers(len(self.pool), size=batch_size):
            fbp, target = self.pool[index]
            size = min(self.patch, fbp.shape[-1])
            top, left = _patch_at([fbp], size, rng) if size < fbp.shape[-1] else (0, 0)
            if size < self.patch:  # a phantom smaller than the patch: upsampled would change its scale; pad
                pad = (0, self.patch - size, 0, self.patch - size)
                fbp, target = torch.nn.functional.pad(fbp, pad), torch.nn.functional.pad(target, pad)
            inputs.append(fbp[top:top + self.patch, left:left + self.patch])
            targets.append(target[top:top + self.patch, left:left + self.patch])
        return self.model.process(torch.stack(inputs).to(device)), torch.stack(targets).to(device)


def _data_words(entry: ModelEntry, size: int, count: int) -> str:
    fraction = entry.extra.get("real_fraction", 0.0)
    if entry.modality == "mri":
        words = describe(size, count, fraction, "mri")
        coils = entry.operator.get("n_coils", 1)
        words += "; each patch simulated as a whole image with a fresh fastMRI random mask"
        return words + (f" and fresh simulated {coils}-coil sensitivities" if coils > 1 else "")
    words = describe(size, CT_TARGET_COUNT, fraction, "ct")
    noise = entry.operator.get("noise")
    words += "; each whole image measured at its own size, then one random "
    words += f"{entry.extra.get('patch', size)}×{entry.extra.get('patch', size)} patch of its FBP per batch item"
    return words + (f" ({noise['kind']} noise, 3 draws per image)" if noise else "")


def _hardware(device: torch.device) -> str:
    if device.type == "cuda":
        return f"GPU ({torch.cuda.get_device_name(device)})"
    return f"{os.cpu_count()}-core CPU, {torch.get_num_threads()} torch thread(s)"


def train_model(name: str, out_dir: str | Path | None = None, steps: int | None = None, batch_size: int | None = None,
                seed: int = 0, lr: float = 1e-3, log: Callable[[str], None] = print) -> Path:
    """Train built-in model ``name`` from scratch; returns the weights path. Deterministic for a seed on CPU."""
    entry = get_model(name)
    steps = steps or entry.extra.get("steps", 1500)
    batch_size = batch_size or entry.extra.get("batch_size", 8)
    if entry.extra.get("trainer") == "diffusion":
        return _train_diffusion(entry, out_dir, steps, batch_size, seed, log)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    size, count = entry.operator["image_size"], TRAINING_COUNT
    started = time.time()
    trainer = _Trainer(entry, rng)
    model = trainer.model.to(device).train()
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, steps)
    log(f"training data ready ({time.time() - started:.0f} s); training on {device}")
    for step in range(steps):
        prediction, target = trainer.outputs(batch_size, rng, device)
        loss = torch.nn.functional.l1_loss(prediction, target)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        if step % 100 == 0 or step == steps - 1:
            log(f"step {step:5d}  L1 {loss.item():.4f}  {time.time() - started:.0f} s")
    training = {"data": _data_words(entry, size, count), "loss": "L1", "optimiser": f"Adam lr {lr}, cosine decay",
                "steps": steps, "batch_size": batch_size, "seed": seed, "seconds": round(time.time() - started, 1),
                "hardware": _hardware(device)}
    return _save(entry, model.cpu(), out_dir, training)


def _train_diffusion(entry: ModelEntry, out_dir, steps: int, batch_size: int, seed: int, log) -> Path:
    """The diffusion prior: denoising score matching on the MRI networks' training images (no measurements)."""
    from .diffusion_train import IMAGE_COUNT, train_prior

    size, patch, fraction = entry.operator["image_size"], entry.extra["patch"], entry.extra.get("real_fraction", 0.0)
    model = entry.build(entry.make_operator())  # the prior never sees it; its validation does
    training = train_prior(model.network, steps, batch_size, patch, seed=seed, real_fraction=fraction,
                           image_size=size, log=log)
    training["data"] = (describe(size, IMAGE_COUNT, fraction, "mri") + f"; random {patch}×{patch} crops, each "
                        "scaled to [−1, 1] by its maximum; images only: no measurement is simulated in training")
    training.update(seed=seed, hardware=_hardware(torch.device("cpu")))
    return _save(entry, model, out_dir, training, {"sampler": sampler_card(entry, model)})


def sampler_card(entry: ModelEntry, model: torch.nn.Module) -> dict:
    """The diffusion sampler's settings in use, and validation SSIM / PSNR of the others tried."""
    from .diffusion_train import sampler_validation

    validation = sampler_validation(model.with_settings(), entry.extra["sampler_validation"],
                                    entry.operator["image_size"])
    return {"sampling_steps": model.sampling_steps, "eta": model.eta, **validation,
            "chosen": "more sampling steps score higher and cost proportionally more; the default is the "
                      "best η at a cost of about 1 s per 128×128 image (--sampling-steps / --eta change it)"}


def _save(entry: ModelEntry, model: torch.nn.Module, out_dir, training: dict, extra: dict | None = None) -> Path:
    """The network's weights (float16) and its card (data, command, parameter count) in ``out_dir``."""
    out = Path(out_dir) if out_dir else entry.folder
    out.mkdir(parents=True, exist_ok=True)
    weights = out / "weights.pt"
    with atomic_file(weights) as temporary:  # the network alone (fastMRI's key names for its nets), no operator
        torch.save({k: v.half() if v.is_floating_point() else v for k, v in model.network.state_dict().items()},
                   temporary)
    training = {**training, "command": f"halluview-cli train {entry.name} --steps {training['steps']} "
                                       f"--seed {training['seed']}",
                "weights_dtype": "float16 (loaded as float32)"}
    card = {"name": entry.name, "title": entry.title, "operator": entry.operator, "architecture": model.config(),
            "parameters": sum(p.numel() for p in model.network.parameters()), "training": training,
            "real_anatomy": describe_split(entry.modality), "date": dt.date.today().isoformat(), **(extra or {})}
    if "surrogate_for" in entry.extra:
        card["surrogate_for"] = entry.extra["surrogate_for"]
    write_text_atomic(out / "card.json", json.dumps(card, indent=2) + "\n")
    return weights
