"""Clean (un-attacked) quality of a built-in model on its held-out phantoms: the numbers on its model card."""
from __future__ import annotations

import json
from pathlib import Path

import torch

from .. import metrics
from ..atomic import write_text_atomic
from ..physics.noise import noisy_measurement
from .checkpoints import load_into, read_state_dict
from .classical import BaselineRecon
from .training_data import HELD_OUT_SEED, phantom_set
from .zoo import get_model

HELD_OUT_COUNT = 32


def model_operator(entry):
    return entry.make_operator()


def held_out_measurements(entry, op, images: torch.Tensor, seed: int = HELD_OUT_SEED) -> torch.Tensor:
    """What evaluation images measure, with the model's noise drawn from a fixed seed."""
    with torch.no_grad():
        y = op(images)
        if entry.operator.get("noise"):
            y = noisy_measurement(op, y, entry.operator["noise"], torch.Generator().manual_seed(seed))
    return y


def _model_from(entry, op, folder: Path):
    """The model as saved in ``folder``: its weights, or (classical entries) its tuned parameter."""
    if not entry.trainable:
        card = json.loads((folder / "card.json").read_text())
        return entry.extra["tune"]["make"](op, float(card["tuned"]["value"]))
    model = entry.build(op)
    load_into(model.network, read_state_dict(folder / "weights.pt"), folder / "weights.pt")
    return model


def held_out_metrics(name: str, weights_dir: str | Path | None = None) -> dict:
    """Mean SSIM / PSNR (fastMRI convention, data_range = ground-truth max) of the model and of the baseline."""
    entry = get_model(name)
    size = entry.operator["image_size"]
    op = model_operator(entry)
    model = _model_from(entry, op, Path(weights_dir) if weights_dir else entry.folder).eval()
    count = entry.extra.get("held_out_count", HELD_OUT_COUNT)  # fewer for reconstructions that fit per scan
    images = torch.from_numpy(phantom_set(size, count, seed0=HELD_OUT_SEED))
    y = held_out_measurements(entry, op, images)
    with torch.no_grad():
        outputs = {"model": model(y), "baseline": BaselineRecon(op)(y)}
    result = {"held_out_images": count, "held_out_seed": HELD_OUT_SEED}
    for label, recon in outputs.items():
        prefix = "" if label == "model" else "baseline_"
        result[prefix + "ssim"] = float(metrics.ssim(recon, images).mean())
        result[prefix + "psnr"] = float(metrics.psnr(recon, images).mean())
    return result


def write_card_metrics(name: str, weights_dir: str | Path | None = None) -> dict:
    folder = Path(weights_dir) if weights_dir else get_model(name).folder
    card_path = folder / "card.json"
    card = json.loads(card_path.read_text()) if card_path.is_file() else {"name": name}
    card["clean_metrics"] = {k: (round(v, 6) if isinstance(v, float) else v)
                             for k, v in held_out_metrics(name, folder).items()}
    write_text_atomic(card_path, json.dumps(card, indent=2) + "\n")
    return card["clean_metrics"]


__all__ = ["held_out_metrics", "write_card_metrics"]
