"""Clean (un-attacked) quality of a built-in model: the numbers on its model card.

Two held-out sets, never trained on: generated phantoms at the training size, and real slices of other volumes at
their own size (:mod:`.real_anatomy`), each measured with the model's acquisition built for that size. SSIM / PSNR
follow fastMRI's evaluation (data range = the ground truth's maximum), per image, then averaged.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
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


CT_FIELD_OF_VIEW = ("CT slices are scored inside the inscribed circle, the field of view the parallel-beam geometry "
                    "measures (as skimage's radon with circle=True): outside it neither model nor FBP can know the "
                    "image (CT_small.dcm holds 14 % of its energy there)")
MARGIN_DB = 1.0  # "beats its baseline by a clear margin": at least this much PSNR and a higher SSIM


def real_metrics(name: str, weights_dir: str | Path | None = None, max_side: int | None = None) -> dict:
    """The model and its baseline on every installed held-out real slice, each at its own size; ``max_side`` skips
    larger slices (reconstructions fitted per scan). Per-slice numbers are kept so the card shows the spread."""
    from ..physics.factory import build_operator
    from .real_anatomy import HELD_OUT, held_out_slices, missing, modality_family

    entry = get_model(name)
    folder = Path(weights_dir) if weights_dir else entry.folder
    rows = []
    for label, image in held_out_slices(entry.modality):
        if max_side is not None and max(image.shape) > max_side:
            continue
        if entry.modality != "mri" and image.shape[0] != image.shape[1]:
            continue  # CT needs a square slice (every held-out CT slice is one)
        op = build_operator(entry.operator_settings(), image.shape)
        x = torch.from_numpy(image)[None]
        y = held_out_measurements(entry, op, x)
        with torch.no_grad():
            samples, baseline = _samples(entry, _model_from(entry, op, folder).eval(), y), BaselineRecon(op)(y)
        if entry.modality == "ct":  # scored where the scanner measures: the inscribed circle (see CT_FIELD_OF_VIEW)
            inside = _inscribed_circle(image.shape[-1])
            x, samples, baseline = x * inside, [s * inside for s in samples], baseline * inside
        row = {"slice": label, "size": list(image.shape)}
        row.update(_sample_scores(samples, x))
        row.update(baseline_ssim=float(metrics.ssim(baseline, x)), baseline_psnr=float(metrics.psnr(baseline, x)))
        rows.append(row)
    result = {"held_out_slices": len(rows), "slices": rows,
              "not_installed": missing(HELD_OUT[modality_family(entry.modality)])}
    if entry.modality == "ct":
        result["scored"] = CT_FIELD_OF_VIEW
    if max_side is not None:
        result["largest_side"] = max_side
    for key in ("ssim", "psnr", "baseline_ssim", "baseline_psnr"):
        result[key] = float(np.mean([r[key] for r in rows])) if rows else None
    if rows and "sampler_seeds" in rows[0]:  # a random reconstruction: each slice's spread over seeds, averaged
        result["sampler_seeds"] = rows[0]["sampler_seeds"]
        for key in ("ssim_seed_std", "psnr_seed_std"):
            result[key] = float(np.mean([r[key] for r in rows]))
    if rows:
        result["verdict"] = verdict(result)
    return result


def _inscribed_circle(n: int) -> torch.Tensor:
    offsets = torch.arange(n, dtype=torch.float32) - n // 2
    return ((offsets[:, None] ** 2 + offsets[None, :] ** 2) <= (n // 2) ** 2).float()[None]


def verdict(result: dict) -> str:
    """Whether the model beats its baseline on held-out real slices by a clear margin, in words."""
    gain = result["psnr"] - result["baseline_psnr"]
    wins = sum(r["psnr"] - r["baseline_psnr"] >= MARGIN_DB and r["ssim"] > r["baseline_ssim"]
               for r in result["slices"])
    n = len(result["slices"])
    if gain >= MARGIN_DB and result["ssim"] > result["baseline_ssim"] and wins == n:
        return f"beats its baseline on every held-out real slice ({n}/{n}; mean +{gain:.1f} dB PSNR)"
    if gain >= MARGIN_DB and result["ssim"] > result["baseline_ssim"]:
        return (f"beats its baseline on average (+{gain:.1f} dB PSNR) but by less than {MARGIN_DB:g} dB or not in "
                f"SSIM on {n - wins} of {n} held-out real slices")
    shown = round(gain, 1) + 0.0  # no "-0.0" for a model equal to its baseline up to rounding
    return (f"does NOT beat its baseline on held-out real slices by a clear margin (mean {shown:+.1f} dB PSNR, SSIM "
            f"{result['ssim']:.3f} vs {result['baseline_ssim']:.3f})")


def held_out_metrics(name: str, weights_dir: str | Path | None = None) -> dict:
    """Mean SSIM / PSNR (fastMRI convention, data_range = ground-truth max) of the model and of the baseline on
    the held-out phantoms."""
    entry = get_model(name)
    size = entry.operator["image_size"]
    op = model_operator(entry)
    model = _model_from(entry, op, Path(weights_dir) if weights_dir else entry.folder).eval()
    count = entry.extra.get("held_out_count", HELD_OUT_COUNT)  # fewer for reconstructions that fit per scan
    images = torch.from_numpy(phantom_set(size, count, seed0=HELD_OUT_SEED))
    y = held_out_measurements(entry, op, images)
    with torch.no_grad():
        samples, baseline = _samples(entry, model, y), BaselineRecon(op)(y)
    result = {"held_out_images": count, "held_out_seed": HELD_OUT_SEED, **_sample_scores(samples, images)}
    result["baseline_ssim"] = float(metrics.ssim(baseline, images).mean())
    result["baseline_psnr"] = float(metrics.psnr(baseline, images).mean())
    return result


def _samples(entry, model, y: torch.Tensor) -> list[torch.Tensor]:
    """The model's reconstructions of ``y``: one, or one per sampler seed for a random reconstruction."""
    seeds = entry.extra.get("sampler_seeds")
    return [model(y)] if not seeds else [model.with_seed(seed)(y) for seed in seeds]


def _sample_scores(samples: list[torch.Tensor], truth: torch.Tensor) -> dict:
    """Mean SSIM / PSNR over images and samples; with several samples (sampler seeds) also their spread: the
    standard deviation over seeds of the mean over images ("_seed_std")."""
    ssim = torch.stack([metrics.ssim(s, truth).reshape(-1) for s in samples])  # (seeds, images)
    psnr = torch.stack([metrics.psnr(s, truth).reshape(-1) for s in samples])
    scores = {"ssim": float(ssim.mean()), "psnr": float(psnr.mean())}
    if len(samples) > 1:
        scores["sampler_seeds"] = len(samples)
        scores["ssim_seed_std"] = float(ssim.mean(dim=1).std())
        scores["psnr_seed_std"] = float(psnr.mean(dim=1).std())
    return scores


def write_card_metrics(name: str, weights_dir: str | Path | None = None) -> dict:
    folder = Path(weights_dir) if weights_dir else get_model(name).folder
    card_path = folder / "card.json"
    card = json.loads(card_path.read_text()) if card_path.is_file() else {"name": name}
    entry = get_model(name)
    card["clean_metrics"] = _rounded(held_out_metrics(name, folder))
    card["real_metrics"] = _rounded(real_metrics(name, folder, entry.extra.get("real_max_side")))
    write_text_atomic(card_path, json.dumps(card, indent=2) + "\n")
    return card


def _rounded(value):
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


__all__ = ["held_out_metrics", "real_metrics", "write_card_metrics"]
