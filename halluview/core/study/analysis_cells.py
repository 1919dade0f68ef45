"""The study's second cell type: one of the papers' other probes (:mod:`halluview.core.analyses`) on one scan slice,
reconstruction and seed. Its rows sit in the same tidy table as the attacks', with ``kind`` "analysis" and the
analysis's name, settings and numbers (the ε axis does not apply: a cell records the experiment's own ε)."""
from __future__ import annotations

import json
import time

from ..environment import halluview_version
from ..errors import ExperimentError


def analysis_entries(entries, where: str) -> tuple[dict, ...]:
    """The study's ``analyses`` as {"name", "settings"} mappings, each checked by building its Config (a typo or a
    value out of range is one clear error before anything runs)."""
    from ..analyses.registry import config_from

    if not isinstance(entries, list) or not entries:
        raise ExperimentError(f"{where}: analyses must be a non-empty list, not {entries!r}")
    out = []
    for entry in entries:
        if isinstance(entry, str):
            entry = {"name": entry}
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise ExperimentError(f"{where}: an analysis is a name or a mapping with a name, not {entry!r}")
        unknown = sorted(set(entry) - {"name", "settings"})
        if unknown:
            raise ExperimentError(f"{where}: an analysis takes name and settings, not {', '.join(unknown)}")
        settings = entry.get("settings") or {}
        if not isinstance(settings, dict):
            raise ExperimentError(f"{where}: the settings of {entry['name']} must be a mapping, not {settings!r}")
        try:
            config_from(entry["name"], settings)
        except ExperimentError as err:
            raise ExperimentError(f"{where}: {err}") from None
        out.append({"name": entry["name"], "settings": dict(settings)})
    return tuple(out)


def analysis_label(entry: dict) -> str:
    """The analysis as the table names it: its name, with its settings when they differ from the defaults."""
    if not entry.get("settings"):
        return entry["name"]
    return f"{entry['name']} {json.dumps(entry['settings'], sort_keys=True, separators=(',', ':'))}"


def analysis_rows(cell, result, seconds: float, environment: dict) -> list[dict]:
    """The table's rows for a finished analysis cell: the grid coordinates, then each of the analysis's rows."""
    shared = {"key": cell.key, **cell.labels, "kind": "analysis", "status": "done", "error": "",
              "seconds": round(seconds, 3), "device": environment.get("device", ""),
              "threads": environment.get("threads", ""), "halluview": halluview_version(),
              "torch": environment.get("torch", "")}
    return [{**shared, **{k: v for k, v in row.items() if k != "analysis"}} for row in result.rows()]


def run_analysis_cell(cell, scan, check) -> list[dict]:
    """Measure, reconstruct and run the cell's analysis (``check(step)`` polled every step)."""
    from ..analyses.common import analysis_input
    from ..analyses.outputs import run_analysis
    from ..analyses.registry import config_from
    from ..environment import run_environment

    entry = cell.analysis
    config = config_from(entry["name"], entry["settings"])
    inputs = analysis_input(cell.experiment, scan)
    started = time.perf_counter()
    result, _ = run_analysis(entry["name"], inputs, config, on_step=check)
    return analysis_rows(cell, result, time.perf_counter() - started, run_environment(inputs.device))
