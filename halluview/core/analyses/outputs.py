"""Running an analysis to its end and writing what it found: ``analysis.json`` (the experiment, the analysis's
settings, the environment and the numbers), the figure and its curves and the panels as ``.npy``, in a folder that
appears whole or not at all. The CLI and the app's export both write through here."""
from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ..atomic import atomic_folder
from ..environment import run_environment
from ..report import _finite, versions
from .figure import save_view
from .registry import spec

REPORT_NAME = "analysis.json"


def run_analysis(name: str, inputs, config, on_step=None):
    """Drain the analysis ``name`` (calling ``on_step(step)`` for each record); returns (result, seconds)."""
    started = time.perf_counter()
    steps = spec(name).run(inputs, config)
    while True:
        try:
            step = next(steps)
        except StopIteration as stop:
            return stop.value, time.perf_counter() - started
        if on_step is not None:
            on_step(step)


def analysis_report(name: str, result, config, inputs, seconds: float, environment: dict | None = None) -> dict:
    """The JSON record of one analysis: what determines its numbers first, then the numbers."""
    return _finite({"analysis": name, "title": spec(name).title, "settings": asdict(config),
                    "experiment": inputs.config, "recon": inputs.label, "headline": result.headline(),
                    "versions": versions(), "environment": environment or run_environment(inputs.device),
                    "seconds": round(seconds, 3), "result": result.summary()})


def write_analysis(name: str, result, config, inputs, seconds: float, out_dir: str | Path,
                   environment: dict | None = None) -> Path:
    """``analysis.json``, ``<name>.png`` (+ its curves as SVG) and each panel as ``panel-<k>.npy``; returns the
    report's path."""
    view = result.view()
    report = analysis_report(name, result, config, inputs, seconds, environment)
    with atomic_folder(out_dir) as out:
        (out / REPORT_NAME).write_text(json.dumps(report, indent=1, default=_plain), encoding="utf-8")
        save_view(view, out / f"{name}.png", f"{spec(name).title}: {inputs.label}")
        for k, panel in enumerate(view.panels):
            np.save(out / f"panel-{k + 1}.npy", np.asarray(panel.image, dtype=np.float32))
    return Path(out_dir) / REPORT_NAME


def _plain(value):
    """numpy scalars and arrays in a summary as plain JSON."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON data")
