"""What one attack leaves on disk: report.json (config, versions, per-step and final numbers), PNGs and arrays.

Every file is written atomically (temporary file, then rename), so an interrupted run never leaves half a file.
"""
from __future__ import annotations

import html
import json
import math
import platform
from pathlib import Path

import numpy as np
from PIL import Image

from .atomic import atomic_file, atomic_folder, write_text_atomic
from .attacks.run import AttackResult

REPORT_VERSION = 1


def versions() -> dict:
    import torch

    import halluview

    return {"halluview": halluview.__version__, "torch": torch.__version__, "numpy": np.__version__,
            "python": platform.python_version(), "platform": platform.platform()}


def _finite(value):
    """JSON has no inf / nan: write them as strings a reader can parse back with float()."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def report_dict(result: AttackResult) -> dict:
    """The JSON report of a result: configuration first, then the numbers."""
    from .choices import attacked

    return _finite({
        "report_version": REPORT_VERSION,
        "attacked": attacked(result.config),
        "config": result.config,
        "versions": versions(),
        "environment": result.environment,
        "seed": result.config.get("seed"),
        "seconds": round(result.seconds, 3),
        "cancelled": result.cancelled,
        "verdict": result.verdict.to_dict() if result.verdict else None,
        "objectives": result.objectives,
        "norms": result.norms,
        "refit_spread": result.refit_spread,
        "final": {"attack": result.metrics, "equal_norm_noise": result.noise_metrics},
        "history": result.history,
    })


def grey_rgb(image: np.ndarray, low: float, high: float) -> np.ndarray:
    scaled = np.clip((image - low) / max(high - low, 1e-12), 0, 1)
    return np.repeat((scaled * 255 + 0.5).astype(np.uint8)[..., None], 3, axis=-1)


def diverging_rgb(image: np.ndarray, limit: float) -> np.ndarray:
    """Signed values → blue (negative) / grey (0) / red (positive), symmetric about 0 with ±``limit``."""
    t = np.clip(image / max(limit, 1e-12), -1, 1)[..., None]
    grey, red, blue = np.array([128, 128, 128.0]), np.array([230, 60, 40.0]), np.array([40, 110, 230.0])
    rgb = np.where(t >= 0, grey + t * (red - grey), grey - t * (blue - grey))
    return (rgb + 0.5).astype(np.uint8)


def save_png(path: str | Path, rgb: np.ndarray) -> None:
    with atomic_file(Path(path)) as temporary:
        Image.fromarray(rgb).save(temporary, format="PNG")


def save_npy(path: str | Path, array: np.ndarray) -> None:
    with atomic_file(Path(path)) as temporary, open(temporary, "wb") as handle:
        np.save(handle, array, allow_pickle=False)


def save_json(path: str | Path, data: dict) -> None:
    write_text_atomic(path, json.dumps(data, indent=2) + "\n")


def _png_base64(rgb: np.ndarray) -> str:
    import base64
    import io

    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _metric_rows(result: AttackResult) -> str:
    groups = {"attack vs clean": result.metrics["vs_clean"], "noise vs clean": result.noise_metrics["vs_clean"]}
    if "vs_reference" in result.metrics:
        groups["attack vs reference"] = result.metrics["vs_reference"]
    keys = list(result.metrics["vs_clean"])
    head = "".join(f"<th>{html.escape(k)}</th>" for k in keys)
    rows = "".join(f"<tr><td>{html.escape(name)}</td>" + "".join(f"<td>{values[k]:.4g}</td>" for k in keys)
                   + "</tr>" for name, values in groups.items())
    return f"<table><tr><th></th>{head}</tr>{rows}</table>"


def _verdict_html(result: AttackResult) -> str:
    """The verdict in words, its warnings highlighted (an attack that found nothing says so first)."""
    if result.verdict is None:
        return ""
    items = "".join(f"<li class='warn'>{html.escape(w)}</li>" for w in result.verdict.warnings)
    return f"<p><strong>{html.escape(result.verdict.headline)}</strong></p>" + (f"<ul>{items}</ul>" if items else "")


def write_html(result: AttackResult, out_dir: str | Path) -> Path:
    """report.html: the four images, the metrics (attack and equal-norm noise), the norms and the config."""
    low, high = float(result.clean.min()), float(result.clean.max())
    difference = result.perturbed - result.clean
    images = {"Clean": grey_rgb(result.clean, low, high), "Perturbed": grey_rgb(result.perturbed, low, high),
              "Difference": diverging_rgb(difference, float(np.abs(difference).max()) or 1.0)}
    figures = "".join(f"<figure><img src='data:image/png;base64,{_png_base64(rgb)}'><figcaption>{name}"
                      f"</figcaption></figure>" for name, rgb in images.items())
    norms = "".join(f"<tr><td>{html.escape(k)}</td><td>{v:.6g}</td></tr>" for k, v in result.norms.items())
    verdict = _verdict_html(result)
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>HalluView report</title><style>"
            "body{font-family:sans-serif;background:#1e1e1e;color:#ddd;margin:2em}figure{display:inline-block;"
            "margin:0 1em 1em 0}img{width:320px;image-rendering:pixelated}td,th{padding:2px 8px;text-align:right}"
            "pre{background:#2a2a2a;padding:1em}.warn{color:#f0b040}</style></head><body>"
            f"<h1>HalluView attack report</h1>{verdict}{figures}<h2>Metrics</h2>{_metric_rows(result)}"
            f"<h2>Norms</h2><table>{norms}</table>"
            f"<h2>Configuration</h2><pre>{html.escape(json.dumps(result.config, indent=2))}</pre>"
            f"<p>{html.escape(json.dumps(versions()))}</p></body></html>")
    return write_text_atomic(Path(out_dir) / "report.html", page)


def write_outputs(result: AttackResult, out_dir: str | Path) -> Path:
    """report.json, report.html, clean / perturbed / difference / perturbation PNGs and .npy arrays, in a folder
    that appears whole or not at all (``out_dir`` must not exist yet, or be empty)."""
    with atomic_folder(out_dir) as out:
        _write_files(result, out)
    return Path(out_dir) / "report.json"


def write_volume_outputs(volume, config: dict, out_dir: str | Path) -> Path:
    """A volume attack: each slice's outputs in slice-NNN/, the stacks (clean, perturbed, noise .npy) and a
    report.json with fastMRI's volume metrics and each slice's verdict and numbers; whole or not at all."""
    with atomic_folder(out_dir) as out:
        for index, result in zip(volume.slices, volume.results):
            _write_files(result, out / f"slice-{index:03d}")
        for name, attribute in (("clean", "clean"), ("perturbed", "perturbed"), ("noise", "noise_example")):
            save_npy(out / f"{name}.npy", np.stack([getattr(r, attribute) for r in volume.results]))
        first = volume.results[0]
        save_json(out / "report.json", _finite({
            "report_version": REPORT_VERSION, "mode": "volume", "config": config, "slices": volume.slices,
            "versions": versions(), "environment": first.environment, "seconds": round(volume.seconds, 3),
            "volume_metrics": volume.metrics,
            "per_slice": [{"slice": index, "verdict": r.verdict.to_dict() if r.verdict else None,
                           "norms": r.norms, "final": {"attack": r.metrics, "equal_norm_noise": r.noise_metrics}}
                          for index, r in zip(volume.slices, volume.results)]}))
    return Path(out_dir) / "report.json"


def _write_files(result: AttackResult, out: Path) -> None:
    low, high = float(result.clean.min()), float(result.clean.max())
    difference = result.perturbed - result.clean
    limit = float(np.abs(difference).max()) or 1.0
    save_png(out / "clean.png", grey_rgb(result.clean, low, high))
    save_png(out / "perturbed.png", grey_rgb(result.perturbed, low, high))
    save_png(out / "difference.png", diverging_rgb(difference, limit))
    image = result.perturbation_image
    save_png(out / "perturbation.png", diverging_rgb(image, float(np.abs(image).max()) or 1.0)
             if image.min() < 0 else grey_rgb(image, 0.0, float(image.max()) or 1.0))
    for name, array in (("clean", result.clean), ("perturbed", result.perturbed), ("delta", result.delta)):
        save_npy(out / f"{name}.npy", array)
    write_html(result, out)
    save_json(out / "report.json", report_dict(result))
