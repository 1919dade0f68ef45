"""A study is a grid of cells: scans × slices × reconstructions × ε values × seeds, for one threat and objective.

Each cell is one independent, seeded attack with a stable key: the SHA-256 of its full experiment configuration
(:func:`cell_key`), so a rerun knows which cells are done. One cell gives two rows of the tidy table: the attack and
the equal-norm noise it is judged against (:func:`cell_rows`). The single-attack path is one cell of a study.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path

from ..choices import Choices, experiment_for
from ..environment import halluview_version
from ..experiment import AccelerationSettings, Experiment, ScanFacts


@dataclass(frozen=True)
class StudyConfig:
    """What varies (``sources``, ``slices``, ``recons``, ``eps``, ``seeds``) and what every cell shares
    (``choices``: the threat, objective, optimizer, region… as the CLI and the app would choose them).

    ``sources`` are the source sections of an experiment ({"demo": "brain"}, {"path": "scan.dcm"}), each with
    optionally its own ``slices``; ``slices`` None means each scan's middle slice. A reconstruction is a name
    ("unet-mri-4x", "tv") or a recon section for your own model ({"name": "checkpoint", "weights": "model.pt",
    "label": "my U-Net"}); a study never allows unpickling: use TorchScript or a weights-only checkpoint."""

    sources: tuple[dict, ...] = ({"demo": "brain"},)
    recons: tuple[str | dict, ...] = ("unet-mri-4x",)
    eps: tuple[float, ...] = (0.01,)
    seeds: tuple[int, ...] = (0,)
    slices: tuple[int, ...] | None = None
    choices: dict = field(default_factory=dict)
    schedule: str = "warm"  # how a task runs its ε values: "warm", "batched" or "cold" (see .tasks)
    analyses: tuple[dict, ...] = ()  # {"name", "settings"}: one analysis cell per scan slice, recon and seed


@dataclass(frozen=True)
class Cell:
    key: str
    experiment: Experiment
    labels: dict  # the grid coordinates in words: source, slice, recon, eps, seed (and analysis)
    source: dict  # the study's source entry the cell reads
    analysis: dict | None = None  # an analysis cell's {"name", "settings"}; None: an attack cell


def cell_key(experiment: Experiment, schedule: str = "cold", analysis: dict | None = None) -> str:
    """A stable key of everything that determines the cell's numbers: its full configuration, and whether it
    starts from its neighbour's worst case (``schedule`` "warm"; batched and cold cells are the single attack),
    or the analysis it runs with its settings."""
    record = experiment.to_dict()
    # Settings added later leave the keys of the cells without them as they were (finished studies resume).
    if record["recon"].get("ttt") is None:
        record["recon"] = {k: v for k, v in record["recon"].items() if k != "ttt"}
    if record.get("segments") is None:
        record.pop("segments", None)
    if record.get("compute") == AccelerationSettings().to_dict():
        record.pop("compute", None)
    if analysis is not None:
        record = {**record, "analysis": analysis}
    elif schedule == "warm":
        record = {**record, "warm_start": "from the next smaller ε"}
    text = json.dumps(record, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _source_label(source: dict) -> str:
    return source.get("path") or f"demo:{source.get('demo')}"


RECON_ENTRY_ONLY = ("label", "surrogate")
"""Keys of a study's reconstruction entry that are not the recon section: its name in the table, and the transfer
surrogate of this reconstruction's cells ("none": attacked directly), which overrides the shared choice."""


def _recon_section(recon: str | dict) -> dict:
    return {"name": recon} if isinstance(recon, str) else {k: v for k, v in recon.items()
                                                           if k not in RECON_ENTRY_ONLY}


def recon_label(recon: str | dict) -> str:
    """How the table names a reconstruction: its name, or for a file its ``label`` or "name (file name)"."""
    if isinstance(recon, str):
        return recon
    if recon.get("label"):
        return str(recon["label"])
    if isinstance(recon.get("ttt"), dict):
        plain = recon_label({k: v for k, v in recon.items() if k != "ttt"})
        return f"{plain} + TTT ({recon['ttt'].get('steps')} steps)"
    name = f"{recon['name']} ({Path(recon['weights']).name})" if recon.get("weights") else recon["name"]
    surrogate = recon.get("surrogate")
    return name if not surrogate else f"{name}, {'direct' if surrogate == 'none' else 'transfer from ' + surrogate}"


def _ttt_defaults(section: dict) -> dict:
    """Test-time training's settings with every default written out: the cell records what ran."""
    if not isinstance(section.get("ttt"), dict):
        return section
    from ..recon.config import TTTSettings

    return {**section, "ttt": {**TTTSettings().to_dict(), **section["ttt"]}}


def _experiment(config: StudyConfig, facts: ScanFacts, source: dict, index: int, recon, seed: int,
                eps: float | None = None) -> Experiment:
    """One cell's experiment: the study's shared choices on this slice, reconstruction, seed (and ε)."""
    shared = {k: dict(v) if isinstance(v, dict) else v for k, v in config.choices.items()}
    if isinstance(recon, dict) and recon.get("surrogate"):
        shared["surrogate"] = recon["surrogate"]
    threat = {**shared.pop("threat", {}), **({} if eps is None else {"eps": float(eps)})}
    choices = Choices(source={**source, "slice": int(index)}, recon=_ttt_defaults(_recon_section(recon)), threat=threat,
                      seed=int(seed), **shared)
    return experiment_for(facts, choices)


def cells(config: StudyConfig, facts_of) -> list[Cell]:
    """Every cell of the grid, in a fixed order: the attacks, then the analyses. ``facts_of(source) ->
    ScanFacts`` reads a scan's facts once."""
    from .analysis_cells import analysis_label

    out = []
    for source in config.sources:
        read = {k: v for k, v in source.items() if k != "slices"}
        facts: ScanFacts = facts_of(read)
        slices = source.get("slices") or config.slices or (facts.n_slices // 2,)

        for index, recon, eps, seed in product(slices, config.recons, config.eps, config.seeds):
            cell = _experiment(config, facts, read, index, recon, seed, eps)
            labels = {"source": _source_label(source), "slice": int(index), "recon": recon_label(recon),
                      "eps": float(eps), "seed": int(seed)}
            out.append(Cell(cell_key(cell, config.schedule), cell, labels, read))
        for index, recon, seed, entry in product(slices, config.recons, config.seeds, config.analyses):
            cell = _experiment(config, facts, read, index, recon, seed)
            labels = {"source": _source_label(source), "slice": int(index), "recon": recon_label(recon),
                      "eps": float(cell.threat.eps), "seed": int(seed), "analysis": analysis_label(entry)}
            out.append(Cell(cell_key(cell, analysis=entry), cell, labels, read, entry))
    return out


def cell_rows(cell: Cell, result, seconds: float, clean_accuracy: dict | None = None,
              schedule: str = "single") -> list[dict]:
    """The tidy table's two rows for a finished cell: the attack and the equal-norm noise (means over its draws).

    Each row holds the grid coordinates, the clean accuracy (``clean_*``: the clean reconstruction against the
    reference), the perturbed reconstruction against the clean one and the reference (``vs_clean_*``,
    ``vs_reference_*``; ``_in`` / ``_out``: in and outside the region), the change ‖f(y + δ) − f(y)‖ globally and
    in the region, the perturbation's size, the verdict's ratio to noise (for a random reconstruction also to its own
    variation between seeds, ``seed_spread_ratio``), how the cell was run and what with. The clinical metrics are
    among the ``vs_*`` columns; ``hf_share`` is the high-frequency share of the row's change, ``segments`` and
    ``segments_method`` the segments they ran over."""
    norms, environment = result.norms, result.environment
    verdict = result.verdict
    segmentation = (result.clinical or {}).get("segmentation") or {}
    shared = {"key": cell.key, **cell.labels, "status": "done", "error": "", "schedule": schedule,
              **{f"clean_{name}": value for name, value in (clean_accuracy or {}).items()},
              "segments": segmentation.get("segments", ""), "segments_method": segmentation.get("method", "")}
    after = {"seconds": round(seconds, 3), "steps": len(result.history), "device": environment.get("device", ""),
             "threads": environment.get("threads", ""), "halluview": halluview_version(),
             "torch": environment.get("torch", "")}
    rows = []
    for kind, metrics, prefix, size in (("attack", result.metrics, "", norms.get("delta_l2")),
                                        ("noise", result.noise_metrics, "noise_", norms.get("noise_l2"))):
        row = {**shared, "kind": kind}
        for anchor, values in metrics.items():
            for name, value in values.items():
                row[f"{anchor}_{name}"] = value
        change, change_in = ("recon_change_l2", "recon_change_l2_in") if kind == "attack" else (
            "noise_recon_change_l2_mean", "noise_recon_change_l2_in_mean")
        row["seed_spread_ratio"] = _seed_spread_ratio(result.refit_spread, norms.get(change))
        row["hf_share"] = norms.get("change_hf_share" if kind == "attack" else "noise_change_hf_share_mean", "")
        row.update({"change_l2": norms.get(change), "change_l2_in": norms.get(change_in, ""),
                    "noise_ratio": (verdict.noise_ratio if verdict is not None else "") if kind == "attack" else 1.0,
                    "realised_eps": norms.get(f"{prefix}realised_eps"), "delta_l2": size, **after})
        rows.append(row)
    rows[0].update(test_time_columns(result.test_time))
    return rows


def test_time_columns(test_time: dict | None) -> dict:
    """The attack row's test-time training columns: the clean reconstruction before adaptation against the
    reference (``clean_*`` is after it), the loss, and the network re-adapted on y + δ (``ttt_deployed_*``)."""
    if not test_time:
        return {}
    done, deployed = test_time["adaptation"], test_time["deployed"]
    before = (done.get("clean") or {}).get("before") or {}
    columns = {"ttt_loss_before": done["loss_before"], "ttt_loss_after": done["loss_after"],
               "ttt_seconds": done["seconds"], "ttt_deployed_vs_clean_ssim": deployed["vs_clean"]["ssim"],
               **{f"ttt_clean_before_{k}": v for k, v in before.items()}}
    for name in ("ssim", "psnr"):
        if "vs_reference" in deployed:
            columns[f"ttt_deployed_vs_reference_{name}"] = deployed["vs_reference"][name]
    return columns


def _seed_spread_ratio(spread: dict | None, change: float | None) -> float | str:
    """A random reconstruction's change as a multiple of its own variation between seeds ("" for the others)."""
    if not spread or change is None:
        return ""
    return change / max(spread["recon_change_l2_mean"], 1e-30)


def failed_rows(cell: Cell, error: str) -> list[dict]:
    """A cell that failed is recorded with its error (both of its rows), and does not stop the others."""
    return [{"key": cell.key, **cell.labels, "kind": kind, "status": "failed", "error": error}
            for kind in ("attack", "noise")]


def _check_recon(recon, where: str) -> None:
    from ..errors import ExperimentError

    if isinstance(recon, str) and recon:
        return
    if not isinstance(recon, dict) or not isinstance(recon.get("name"), str):
        raise ExperimentError(f"{where}: a reconstruction is a name or a mapping with a name, not {recon!r}")
    if "ttt" in recon:  # its values are the experiment's to check
        if not isinstance(recon["ttt"], dict):
            raise ExperimentError(f"{where}: ttt (test-time training) is a mapping of steps, lr, split and seed, "
                                  f"not {recon['ttt']!r}")
        recon = {k: v for k, v in recon.items() if k != "ttt"}
    if recon.get("allow_pickle"):
        raise ExperimentError(f"{where}: a study file cannot allow unpickling (it runs code from the checkpoint); "
                              "save the model as TorchScript or as a weights-only checkpoint")
    unknown = sorted(set(recon) - {"name", "weights", "params", "label", "surrogate"})
    if unknown:
        raise ExperimentError(f"{where}: unknown reconstruction setting{'s' if len(unknown) > 1 else ''} "
                              f"{', '.join(unknown)}; a reconstruction takes name, weights, params, label and "
                              "surrogate")
    if "surrogate" in recon and not (isinstance(recon["surrogate"], str) and recon["surrogate"]):
        raise ExperimentError(f"{where}: a reconstruction's surrogate is a model name or none, not "
                              f"{recon['surrogate']!r}")


def _label_file(path, where: str) -> str:
    """choices: segments: an existing label file, absolute (its contents are checked when a cell uses it)."""
    from ..errors import ExperimentError

    if not isinstance(path, str) or not Path(path).is_file():
        what = "a folder, not a label file" if isinstance(path, str) and Path(path).is_dir() else "no such label file"
        raise ExperimentError(f"{where}: {path}: {what} (choices: segments)")
    return str(Path(path).resolve())


GRID_KEYS = ("sources", "recons", "eps", "seeds", "slices")
SCHEDULES = ("warm", "batched", "cold")
# A source: an experiment's source section (path or demo, image_size, choices), and optionally its own slices.
SOURCE_KEYS = {"path", "demo", "image_size", "choices", "slices"}  # how a task runs its ε values: see .tasks


def study_config(data: dict, where: str = "the study") -> StudyConfig:
    """A :class:`StudyConfig` from plain data (a parsed config file), with one clear error per problem: unknown
    keys, empty or non-list axes, ε outside (0, 1], negative seeds or slices, sources without a file or example."""
    from ..errors import ExperimentError
    from .analysis_cells import analysis_entries

    if not isinstance(data, dict):
        raise ExperimentError(f"{where}: expected a mapping of settings, not {type(data).__name__}")
    unknown = sorted(set(data) - set(GRID_KEYS) - {"choices", "schedule", "analyses"})
    if unknown:
        raise ExperimentError(f"{where}: unknown setting{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
                              f"expected {', '.join(GRID_KEYS)}, analyses, schedule and choices")
    analyses = analysis_entries(data["analyses"], where) if "analyses" in data else ()
    schedule = data.get("schedule", "warm")
    if schedule not in SCHEDULES:
        raise ExperimentError(f"{where}: schedule must be one of {', '.join(SCHEDULES)}, not {schedule!r}")
    values = {}
    for key in GRID_KEYS:
        if key not in data:
            continue
        axis = data[key]
        if key == "slices" and axis is None:
            continue
        if key == "eps" and axis == [] and analyses:  # a study of analyses only
            values[key] = ()
            continue
        if not isinstance(axis, list) or not axis:
            raise ExperimentError(f"{where}: {key} must be a non-empty list, not {axis!r}")
        values[key] = tuple(axis)
    for source in values.get("sources", ()):
        if not isinstance(source, dict) or not (source.get("path") or source.get("demo")):
            raise ExperimentError(f"{where}: each source needs a path or a demo, not {source!r}")
        unknown = sorted(set(source) - SOURCE_KEYS)
        if unknown:
            raise ExperimentError(f"{where}: unknown source setting{'s' if len(unknown) > 1 else ''} "
                                  f"{', '.join(unknown)}; a source takes {', '.join(sorted(SOURCE_KEYS))}")
        own = source.get("slices")
        if own is not None and (not isinstance(own, list) or not own or not all(
                isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in own)):
            raise ExperimentError(f"{where}: a source's slices must be a non-empty list of whole numbers ≥ 0, "
                                  f"not {own!r}")
    for recon in values.get("recons", ()):
        _check_recon(recon, where)
    for eps in values.get("eps", ()):
        if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not 0 < eps <= 1:
            raise ExperimentError(f"{where}: every ε must be a number in (0, 1] (a fraction of ‖y‖), not {eps!r}")
    for key in ("seeds", "slices"):
        for value in values.get(key, ()):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ExperimentError(f"{where}: {key} must be whole numbers ≥ 0, not {value!r}")
    choices = data.get("choices", {})
    if not isinstance(choices, dict):
        raise ExperimentError(f"{where}: choices must be a mapping of sections, not {type(choices).__name__}")
    if choices.get("segments") is not None:
        choices = {**choices, "segments": _label_file(choices["segments"], where)}
    return StudyConfig(**values, choices=dict(choices), schedule=schedule, analyses=analyses)
