"""What one attack leaves on disk: report.json (config, versions, per-step and final numbers), PNGs and arrays.

Every file is written atomically (temporary file, then rename), so an interrupted run never leaves half a file.
"""
from __future__ import annotations

import json
import math
import platform
from pathlib import Path

import numpy as np
from PIL import Image

from .atomic import atomic_file, atomic_folder, write_text_atomic
from .attacks.run import AttackResult
from .display import diverging_rgb, grey_rgb, robust_limit

__all__ = ["REPORT_VERSION", "diverging_rgb", "grey_rgb", "report_dict", "save_json", "save_npy", "save_png",
           "versions", "write_html", "write_outputs", "write_volume_outputs"]

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
        "verdict": result.verdict.to_dict() if result.verdict else None,
        "objectives": result.objectives,
        "norms": result.norms,
        "refit_spread": result.refit_spread,
        "clinical": result.clinical,  # segmentation, where MaxSRMSE is, the changes' radial power spectra
        "test_time": result.test_time,  # test-time training: its record, and the network re-adapted on y + δ
        "precision": result.precision,  # bf16 / compiled network vs fp32 on y + δ (None: plain fp32)
        "final": {"attack": result.metrics, "equal_norm_noise": result.noise_metrics},
        "history": result.history,
    })


def save_png(path: str | Path, rgb: np.ndarray) -> None:
    with atomic_file(Path(path)) as temporary:
        Image.fromarray(rgb).save(temporary, format="PNG")


def save_npy(path: str | Path, array: np.ndarray) -> None:
    with atomic_file(Path(path)) as temporary, open(temporary, "wb") as handle:
        np.save(handle, array, allow_pickle=False)


def save_json(path: str | Path, data: dict) -> None:
    write_text_atomic(path, json.dumps(data, indent=2) + "\n")


def write_html(result: AttackResult, out_dir: str | Path, json_name: str = "report.json") -> Path:
    """report.html beside report.json: the verdict, the images, the metrics, the per-step curves, the noise
    baseline, the settings and the versions, self-contained (:mod:`halluview.core.report_html`)."""
    from .report_html import report_page

    return write_text_atomic(Path(out_dir) / "report.html", report_page(result, versions(), json_name))


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
            "slices_side_by_side": volume.side_by_side, "volume_metrics": volume.metrics,
            "per_slice": [{"slice": index, "verdict": r.verdict.to_dict() if r.verdict else None,
                           "norms": r.norms, "clinical": r.clinical, "test_time": r.test_time,
                           "final": {"attack": r.metrics, "equal_norm_noise": r.noise_metrics}}
                          for index, r in zip(volume.slices, volume.results)]}))
    return Path(out_dir) / "report.json"


def _write_files(result: AttackResult, out: Path) -> None:
    low, high = float(result.clean.min()), float(result.clean.max())
    difference = result.perturbed - result.clean
    save_png(out / "clean.png", grey_rgb(result.clean, low, high))
    save_png(out / "perturbed.png", grey_rgb(result.perturbed, low, high))
    save_png(out / "difference.png", diverging_rgb(difference, robust_limit(difference)))  # as the app and report
    image = result.perturbation_image
    save_png(out / "perturbation.png", diverging_rgb(image, float(np.abs(image).max()) or 1.0)
             if image.min() < 0 else grey_rgb(image, 0.0, float(image.max()) or 1.0))
    for name, array in (("clean", result.clean), ("perturbed", result.perturbed), ("delta", result.delta)):
        save_npy(out / f"{name}.npy", array)
    write_html(result, out)
    save_json(out / "report.json", report_dict(result))
