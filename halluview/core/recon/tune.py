"""Tuning the single parameter of a classical built-in reconstruction (TV λ, wavelet threshold) on validation
phantoms the learned models never saw, so that classical and learned are compared fairly (Darestani & Heckel).

``halluview-cli train tv-mri-4x`` runs :func:`tune_classical`; the card records the validation curve.
"""
from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import Callable

import torch

from .. import metrics
from ..atomic import write_text_atomic
from .evaluate import held_out_measurements, model_operator, write_card_metrics
from .training_data import VALIDATION_SEED, phantom_set
from .zoo import get_model

VALIDATION_COUNT = 16


def tune_classical(name: str, out_dir: str | Path | None = None, log: Callable[[str], None] = print) -> Path:
    """Pick the candidate with the best mean validation SSIM, write card.json (with held-out metrics)."""
    entry = get_model(name)
    tune = entry.extra["tune"]
    op = model_operator(entry)
    count = entry.extra.get("validation_count", VALIDATION_COUNT)
    images = torch.from_numpy(phantom_set(entry.operator["image_size"], count, seed0=VALIDATION_SEED))
    started, scores = time.time(), {}
    y = held_out_measurements(entry, op, images, seed=VALIDATION_SEED)
    with torch.no_grad():
        for value in tune["candidates"]:
            scores[value] = float(metrics.ssim(tune["make"](op, value)(y), images).mean())
            log(f"{tune['param']} = {value:g}: validation SSIM {scores[value]:.4f}")
    best = max(scores, key=scores.get)
    out = Path(out_dir) if out_dir else entry.folder
    out.mkdir(parents=True, exist_ok=True)
    card = {"name": name, "title": entry.title, "operator": entry.operator,
            "architecture": tune["make"](op, best).config(), "parameters": 0,
            "tuned": {"param": tune["param"], "value": best,
                      "validation_ssim": {f"{v:g}": round(s, 6) for v, s in scores.items()},
                      "validation": f"{count} generated phantoms, seeds from {VALIDATION_SEED}"},
            "training": {"data": entry.extra.get("data_words", "no training: one parameter chosen by validation SSIM"),
                         "command": f"halluview-cli train {name}", "seconds": round(time.time() - started, 1)},
            "date": dt.date.today().isoformat()}
    path = out / "card.json"
    write_text_atomic(path, json.dumps(card, indent=2) + "\n")
    write_card_metrics(name, out)
    return path
