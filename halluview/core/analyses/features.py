"""Small features (Antun et al. 2020) and false features (Darestani, Chaudhari & Heckel 2021).

A feature of each shape × size × contrast (:mod:`.feature_shapes`) is added to the object, x′ = x ± c·s·w, with
s the object's maximum intensity and w the feature's weight map; x′ is acquired with the measurement's own noise
and reconstructed (batched), and the feature is scored in f(y′) − f(y):

    recovery     contrast of f(y′) − f(y) at the feature over the contrast of x′ − x (1: all of it; 0: none)
    CNR          that contrast difference over the spread of f(y′) in the ring around the feature
    detected     CNR ≥ the threshold (3 by default: the Rose criterion)
    SSIM / PSNR  f(y′) against x′ in the feature's neighbourhood box (data range s)

The size × contrast recovery map (averaged over the points) is comparable across reconstructions, and each size's
50 % contrast threshold is where recovery first reaches 0.5, interpolated linearly between grid contrasts.
On request a false-feature search (:mod:`.false_features`) finds the smallest ε at which an attack makes a disc
appear that the data do not hold. Nothing is drawn at random: the numbers depend on the inputs alone.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Generator

import numpy as np
import torch

from ..errors import ExperimentError
from ..geometry import display_frame
from .common import AnalysisInput
from .false_features import FALSE_LEVEL, search_false_feature
from .feature_shapes import (
    RING_INNER_PX,
    RING_OUTER_PX,
    SHAPES,
    FeatureCell,
    Placement,
    draw_feature,
    feature_mask,
    score_cells,
    to_grid_xy,
)
from .view import AnalysisStep, AnalysisView, Curve, Panel

TITLE = "Small features"
POLARITIES = ("bright", "dark")
RECOVERY_LEVEL = 0.5
BACKGROUND_SHARE = 0.05  # a place whose surroundings average below this share of the maximum is background
EDGE_PX = 3  # points this close to the edge leave no pixel of their box once SSIM crops its border
CHUNK = 16  # reconstructions per batch


def _field(default, help_text: str, **more):
    return field(default=default, metadata={"help": help_text, **more})


@dataclass
class Config:
    """The small-feature grid, its placement and the false-feature search."""

    shapes: tuple = _field(SHAPES, "feature shapes: disc (diameter = size), line (1 px wide, 4 × size long), "
                                   "stroke (size wide, 3 × size long)", choices=SHAPES)
    sizes_px: tuple = _field((1, 2, 3, 4, 6), "feature sizes in pixels of the reconstructed image", unit="px",
                             minimum=1, maximum=64)
    contrasts: tuple = _field((0.02, 0.05, 0.1, 0.2, 0.4), "feature contrasts as fractions of the object's "
                                                           "maximum intensity", minimum=0, maximum=1)
    points: tuple = _field((), "(x, y) places in the scan's pixels; none: the region's centre, else the image's")
    angle_deg: float = _field(90.0, "direction of lines and strokes, counter-clockwise from the x axis; 90° runs "
                                    "along the columns, across the undersampled direction of a column mask",
                              unit="°", minimum=-180, maximum=180)
    polarity: str = _field("bright", "bright: features added to the object; dark: subtracted", choices=POLARITIES)
    cnr_threshold: float = _field(3.0, "a feature is detected when its contrast-to-noise ratio reaches this "
                                       "(3: the Rose criterion)", minimum=0)
    false_feature: bool = _field(False, "also search for the smallest ε at which an attack makes a feature appear")
    false_eps_percent: tuple = _field((0.5, 1.0, 2.0, 4.0, 8.0), "budgets tried in the false-feature search, in % "
                                                                 "of ‖y‖ (of ‖x‖ for image-domain threats)",
                                      unit="%", minimum=0, maximum=100)
    false_size_px: int = _field(3, "diameter of the false feature (a disc)", unit="px", minimum=1, maximum=64)
    false_contrast: float = _field(0.2, "contrast of the false feature, a fraction of the object's maximum",
                                   minimum=0, maximum=1)
    false_steps: int = _field(30, "attack steps per ε in the false-feature search", minimum=1, maximum=1000)

    def __post_init__(self):
        self.shapes = _names(self.shapes, SHAPES, "shapes")
        self.sizes_px = tuple(int(v) for v in _numbers(self.sizes_px, "sizes_px", 1, 64, whole=True))
        self.contrasts = _numbers(self.contrasts, "contrasts", 0, 1)
        self.false_eps_percent = _numbers(self.false_eps_percent, "false_eps_percent", 0, 100)
        self.points = _points(self.points)
        _require(self.polarity in POLARITIES, f"polarity must be one of {', '.join(POLARITIES)}, "
                                              f"not {self.polarity!r}")
        _require(_number(self.angle_deg) and -180 <= self.angle_deg <= 180,
                 f"angle_deg must be between -180 and 180, not {self.angle_deg!r}")
        _require(_number(self.cnr_threshold) and self.cnr_threshold >= 0,
                 f"cnr_threshold must be ≥ 0, not {self.cnr_threshold!r}")
        _require(_number(self.false_size_px) and float(self.false_size_px).is_integer()
                 and 1 <= self.false_size_px <= 64, f"false_size_px must be a whole number from 1 to 64, "
                                                    f"not {self.false_size_px!r}")
        _require(_number(self.false_contrast) and 0 < self.false_contrast <= 1,
                 f"false_contrast must be in (0, 1], not {self.false_contrast!r}")
        _require(isinstance(self.false_steps, int) and 1 <= self.false_steps <= 1000,
                 f"false_steps must be a whole number from 1 to 1000, not {self.false_steps!r}")
        _require(isinstance(self.false_feature, bool), "false_feature must be true or false")
        self.false_size_px = int(self.false_size_px)


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ExperimentError(message)


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _names(values, allowed: tuple[str, ...], name: str) -> tuple[str, ...]:
    values = (values,) if isinstance(values, str) else tuple(values)
    _require(len(values) > 0, f"{name}: choose at least one of {', '.join(allowed)}")
    unknown = [v for v in values if v not in allowed]
    _require(not unknown, f"{name}: unknown {unknown}; choose from {', '.join(allowed)}")
    _require(len(set(values)) == len(values), f"{name}: {list(values)} repeats a value")
    return values


def _numbers(values, name: str, low: float, high: float, whole: bool = False) -> tuple[float, ...]:
    """A non-empty grid of distinct numbers in (low, high] (whole numbers in [low, high] when ``whole``), sorted."""
    values = tuple(values) if isinstance(values, (list, tuple)) else (values,)
    _require(len(values) > 0 and all(_number(v) for v in values), f"{name} must be a list of numbers")
    if whole:
        _require(all(float(v).is_integer() and low <= v <= high for v in values),
                 f"{name} must be whole numbers from {low:g} to {high:g}, not {list(values)}")
    else:
        _require(all(low < v <= high for v in values), f"{name} must lie in ({low:g}, {high:g}], not {list(values)}")
    _require(len(set(values)) == len(values), f"{name}: {list(values)} repeats a value")
    return tuple(sorted(float(v) for v in values))


def _points(values) -> tuple[tuple[float, float], ...]:
    points = tuple(values or ())
    _require(all(isinstance(p, (list, tuple)) and len(p) == 2 and all(_number(v) for v in p) for p in points),
             f"points must be (x, y) pairs of numbers, not {list(points)}")
    return tuple((float(p[0]), float(p[1])) for p in points)


def contrast_threshold(contrasts, recoveries, level: float = RECOVERY_LEVEL) -> tuple[float | None, str]:
    """The smallest contrast at which recovery reaches ``level``: the first crossing of the grid (ascending
    ``contrasts``), interpolated linearly between its two grid contrasts.

    Returns
    -------
    (contrast, note) : the contrast (None when never reached) and how it was found: "interpolated", "at or below
        the smallest contrast" (the first grid contrast already reaches it) or "not reached".
    """
    for i, (contrast, recovery) in enumerate(zip(contrasts, recoveries)):
        if recovery >= level:
            if i == 0:
                return float(contrast), "at or below the smallest contrast"
            c0, r0 = contrasts[i - 1], recoveries[i - 1]
            return float(c0 + (level - r0) * (contrast - c0) / (recovery - r0)), "interpolated"
    return None, "not reached"


def _placements(inputs: AnalysisInput, config: Config, x: torch.Tensor, scale: float) -> list[Placement]:
    """Where the features go (working-grid pixels): the configured points, else the region's centre, else the
    image's; each with the mean intensity around it, to say when it lies in the background."""
    height, width = grid = tuple(x.shape[-2:])
    if config.points:
        frame = display_frame(inputs.config)
        points = [to_grid_xy(p, grid, frame) for p in config.points]
    elif inputs.region is not None:
        rows, cols = np.nonzero(inputs.region_numpy())
        points = [(float(cols.mean()), float(rows.mean()))]
    else:
        points = [(float(width // 2), float(height // 2))]
    image = x[0].detach().double().cpu().numpy()
    placements = []
    for px, py in points:
        _require(EDGE_PX <= px <= width - 1 - EDGE_PX and EDGE_PX <= py <= height - 1 - EDGE_PX,
                 f"the point ({px:g}, {py:g}) lies outside the {width}×{height} image or within {EDGE_PX} px "
                 "of its edge")
        around = feature_mask("disc", max(config.sizes_px) + 2 * RING_OUTER_PX, grid, (px, py))
        local = float(np.sum(image * around) / np.sum(around)) / scale
        placements.append(Placement(px, py, local, local < BACKGROUND_SHARE))
    return placements


def _sweep(inputs: AnalysisInput, config: Config, placements: list[Placement], scale: float,
           total: int) -> Generator[AnalysisStep, None, tuple[list[FeatureCell], dict]]:
    """Every cell of the grid, reconstructed in batches of CHUNK; returns the cells and the example's images."""
    sign = 1.0 if config.polarity == "bright" else -1.0
    grid = tuple(inputs.x_true.shape[-2:])
    drawn = {(index, shape, size): draw_feature(shape, size, grid, (place.x, place.y), config.angle_deg,
                                                inputs.device)
             for index, place in enumerate(placements) for shape in config.shapes for size in config.sizes_px}
    cells = [FeatureCell(index, shape, size, contrast) for index in range(len(placements))
             for shape in config.shapes for size in config.sizes_px for contrast in config.contrasts]
    example_key = (0, config.shapes[0], config.sizes_px[len(config.sizes_px) // 2],
                   config.contrasts[len(config.contrasts) // 2])
    example = {}
    for start in range(0, len(cells), CHUNK):
        chunk = cells[start:start + CHUNK]
        featured, recon = score_cells(inputs, chunk, drawn, scale, sign, config.cnr_threshold)
        for i, cell in enumerate(chunk):
            if (cell.point, cell.shape, cell.size_px, cell.contrast) == example_key:
                example = {"cell": cell, "object": featured[i].cpu().numpy(), "recon": recon[i].cpu().numpy(),
                           "change": (recon[i] - inputs.clean[0]).cpu().numpy()}
        done = start // CHUNK + 1
        yield AnalysisStep(done, total, f"small features: {min(start + CHUNK, len(cells))} of {len(cells)} "
                                        "reconstructed")
    return cells, example


def run(inputs: AnalysisInput, config: Config) -> Generator[AnalysisStep, None, FeatureResult]:
    """Insert every feature of the grid, reconstruct, score; then, when asked, search for false features.

    Yields an :class:`AnalysisStep` per batch of reconstructions and per attack step; returns a
    :class:`FeatureResult`. Raises ExperimentError without an imaged object, for a blank one, or
    for a point outside the image.
    """
    started = time.perf_counter()
    x = inputs.require_object("the small-feature analysis")
    scale = float(x.max())
    _require(scale > 0, "the object is blank (its maximum is not positive): there is no intensity to compare with")
    placements = _placements(inputs, config, x, scale)
    n_cells = len(placements) * len(config.shapes) * len(config.sizes_px) * len(config.contrasts)
    sweep_steps = math.ceil(n_cells / CHUNK)
    per_search = len(config.false_eps_percent) * config.false_steps * inputs.experiment.optimizer.restarts
    total = sweep_steps + (len(placements) * per_search if config.false_feature else 0)
    cells, example = yield from _sweep(inputs, config, placements, scale, total)
    searches = []
    if config.false_feature:
        sign = 1.0 if config.polarity == "bright" else -1.0
        for index, place in enumerate(placements):
            searches.append((yield from search_false_feature(
                inputs, (place.x, place.y), config.false_size_px, config.false_contrast, config.false_eps_percent,
                config.false_steps, scale, sign, sweep_steps + index * per_search, total)))
        # A search stops at the first ε that works, before its share of the steps is used up.
        yield AnalysisStep(total, total, "false features: searched")
    return FeatureResult(config=config, label=inputs.label, scale=scale, placements=placements, cells=cells,
                         example=example, false_features=searches, seconds=time.perf_counter() - started,
                         false_level=FALSE_LEVEL)


def _finite(value):
    """JSON has no inf / nan: written as strings a reader parses back with float() (as attack reports do)."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _threshold_words(by_size: dict[int, tuple[float | None, str]], contrasts: tuple[float, ...]) -> str:
    """e.g. "not reached at any size up to 0.4", or "1 px not reached, 2 px 0.13, 3 px ≤ 0.02"."""
    if all(value is None for value, _ in by_size.values()):
        return f"not reached at any size up to {contrasts[-1]:g}"
    words = [f"{size} px " + ("not reached" if value is None else f"≤ {value:g}" if note.startswith("at or below")
                              else f"{value:.3g}") for size, (value, note) in by_size.items()]
    return ", ".join(words)


@dataclass
class FeatureResult:
    """The recovery of every feature, the map per shape, thresholds per size and the false-feature searches."""

    config: Config
    label: str
    scale: float
    placements: list[Placement]
    cells: list[FeatureCell]
    example: dict
    false_features: list = field(default_factory=list)
    seconds: float = 0.0
    false_level: float = 0.5

    def recovery_map(self, shape: str) -> np.ndarray:
        """(sizes, contrasts) recovery of ``shape``, the mean over the points."""
        sizes, contrasts = self.config.sizes_px, self.config.contrasts
        table = np.zeros((len(sizes), len(contrasts)))
        for cell in self.cells:
            if cell.shape == shape:
                table[sizes.index(cell.size_px), contrasts.index(cell.contrast)] += cell.recovery
        return table / len(self.placements)

    def thresholds(self) -> dict[str, dict[int, tuple[float | None, str]]]:
        """Shape → size → the 50 % contrast threshold of the mean recovery map (:func:`contrast_threshold`)."""
        return {shape: {size: contrast_threshold(self.config.contrasts, list(row))
                        for size, row in zip(self.config.sizes_px, self.recovery_map(shape))}
                for shape in self.config.shapes}

    def rules(self) -> dict:
        return {"contrast_unit": "a fraction of the object's maximum intensity "
                                 f"({self.scale:g} in working units)",
                "recovery": "(weighted mean inside − mean over the ring) of f(y′) − f(y), over the same of x′ − x",
                "ring": f"pixels more than {RING_INNER_PX:g} and at most {RING_OUTER_PX:g} px from the feature "
                        "(centre to centre)",
                "detected": f"CNR ≥ {self.config.cnr_threshold:g} (3 is the Rose criterion): the contrast of "
                            "f(y′) − f(y) over the standard deviation of f(y′) in the ring (at least 0.1 % of "
                            "the maximum)",
                "threshold": f"the smallest contrast whose recovery reaches {RECOVERY_LEVEL:g} (mean over the "
                             "points), interpolated linearly between grid contrasts",
                "ssim_psnr": "f(y′) against x′ in the feature's bounding box grown by 4 px, data range = the "
                             "object's maximum",
                "shapes": "disc: diameter = size; line: 1 px wide, 4 × size long; stroke: size wide, 3 × size long",
                "false_feature": f"appears when f(y + δ) − f(y) shows {self.false_level:g} of the target contrast"}

    def summary(self) -> dict:
        contrasts = list(self.config.contrasts)
        return _finite({
            "analysis": "features", "config": asdict(self.config), "reconstruction": self.label,
            "rules": self.rules(), "scale": self.scale, "seconds": round(self.seconds, 3),
            "points": [vars(p).copy() for p in self.placements],
            "cells": [vars(c).copy() for c in self.cells],
            "recovery_map": {shape: {"sizes_px": list(self.config.sizes_px), "contrasts": contrasts,
                                     "recovery": self.recovery_map(shape).tolist()} for shape in self.config.shapes},
            "thresholds": {shape: {str(size): {"contrast": value, "note": note}
                                   for size, (value, note) in by_size.items()}
                           for shape, by_size in self.thresholds().items()},
            "false_features": [record.summary() for record in self.false_features] or None})

    def rows(self) -> list[dict]:
        common = {"analysis": "features", "reconstruction": self.label}
        rows = [{**common, "row": "cell", "shape": c.shape, "size_px": c.size_px, "contrast": c.contrast,
                 "point_x": self.placements[c.point].x, "point_y": self.placements[c.point].y,
                 "recovery": c.recovery, "cnr": c.cnr, "cnr_object": c.cnr_object, "detected": int(c.detected),
                 "ssim": c.ssim, "psnr": c.psnr}
                for c in self.cells]
        for shape, by_size in self.thresholds().items():
            rows += [{**common, "row": "threshold", "shape": shape, "size_px": size,
                      "threshold_contrast": math.nan if value is None else value, "threshold_note": note}
                     for size, (value, note) in by_size.items()]
        for record in self.false_features:
            smallest = record.smallest_eps_percent
            rows.append({**common, "row": "false feature", "shape": "disc", "size_px": record.size_px,
                         "contrast": record.contrast, "point_x": record.point_xy[0], "point_y": record.point_xy[1],
                         "smallest_eps_percent": math.nan if smallest is None else smallest})
        return rows

    def _recovery_words(self, shape: str) -> str:
        """e.g. "disc recovery 0.23 at 1 px to 0.49 at 6 px (mean over contrasts)"."""
        sizes, mean = self.config.sizes_px, self.recovery_map(shape).mean(axis=1)
        span = f"{mean[0]:.2f} at {sizes[0]} px" + (f" to {mean[-1]:.2f} at {sizes[-1]} px" if len(sizes) > 1 else "")
        return f"{shape} recovery {span} (mean over contrasts)"

    def _false_words(self) -> list[str]:
        words = []
        for record in self.false_features:
            tried = ", ".join(f"{t.eps_percent:g} % (realised {t.realised_eps_percent:.3g} %, "
                              f"{100 * t.recovered:.0f} % shown)" for t in record.trials)
            found = (f"appears at ε = {record.smallest_eps_percent:g} %" if record.smallest_eps_percent is not None
                     else f"does not appear within ε ≤ {max(self.config.false_eps_percent):g} %")
            words.append(f"A false {record.size_px} px disc of contrast {record.contrast:g} at "
                         f"({record.point_xy[0]:.0f}, {record.point_xy[1]:.0f}) {found}; tried {tried}.")
        return words

    def headline(self) -> str:
        shape = self.config.shapes[0]
        line = f"{self._recovery_words(shape)}; 50 % contrast threshold " \
               f"{_threshold_words(self.thresholds()[shape], self.config.contrasts)}"
        for record in self.false_features[:1]:
            eps = record.smallest_eps_percent
            line += (f"; false {record.size_px} px disc at ε {eps:g} %" if eps is not None
                     else f"; no false {record.size_px} px disc within ε {max(self.config.false_eps_percent):g} %")
        return line

    def view(self) -> AnalysisView:
        view = AnalysisView()
        if self.example:
            cell = self.example["cell"]
            what = f"{cell.shape} of {cell.size_px} px at contrast {cell.contrast:g}"
            view.panels += [Panel(f"Object with a {what}", self.example["object"]),
                            Panel("Its reconstruction f(y′)", self.example["recon"]),
                            Panel("Change f(y′) − f(y)", self.example["change"], "signed",
                                  f"recovery {cell.recovery:.2f}, CNR {cell.cnr:.1f}")]
        for shape in self.config.shapes:
            table = np.clip(self.recovery_map(shape), 0, None)
            view.panels.append(Panel(f"{shape}: recovery map (0–1)", np.kron(table, np.ones((16, 16))), "map",
                                     "rows: sizes " + ", ".join(f"{s}" for s in self.config.sizes_px) + " px (top "
                                     "to bottom); columns: contrasts " + ", ".join(f"{c:g}" for c in
                                                                                   self.config.contrasts)
                                     + " (left to right); 1 = fully recovered, clipped at 0", limits=(0.0, 1.0)))
            series = {f"{size} px": list(row) for size, row in zip(self.config.sizes_px, self.recovery_map(shape))}
            series["50 %"] = [RECOVERY_LEVEL] * len(self.config.contrasts)
            view.curves.append(Curve(f"{shape}: recovery against contrast", "contrast (× object maximum)",
                                     "recovery", list(self.config.contrasts), series))
        for record in self.false_features:
            if record.difference is not None:
                view.panels.append(Panel("False feature: f(y + δ) − f(y)", record.difference, "signed"))
        view.facts += [f"{self._recovery_words(shape)}; 50 % contrast threshold "
                       f"{_threshold_words(by_size, self.config.contrasts)}."
                       for shape, by_size in self.thresholds().items()]
        view.facts.append(f"Detected: {self.rules()['detected']}.")
        view.facts += [f"The point ({p.x:.0f}, {p.y:.0f}) lies in the background (mean intensity "
                       f"{100 * p.local_mean:.1f} % of the maximum around it): its recovery says little about tissue."
                       for p in self.placements if p.in_background]
        view.facts += self._false_words()
        return view
