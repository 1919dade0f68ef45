"""What an analysis shows, in one form for the app, the CLI's figure and the report: image panels, curves and
findings in words. Analyses build these; front ends only paint them."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

PANEL_KINDS = ("grey", "signed", "map")
"""grey: an image on the grey scale; signed: a difference, diverging about 0; map: a non-negative map (0 = dark)."""


@dataclass
class Panel:
    """One image: (H, W) float in working units (or the map's own units, said in ``note``)."""

    title: str
    image: np.ndarray
    kind: str = "grey"
    note: str = ""
    limits: tuple[float, float] | None = None  # a fixed display range (e.g. 0 to 1 for a recovery map)

    def __post_init__(self):
        if self.kind not in PANEL_KINDS:
            raise ValueError(f"panel kind {self.kind!r} is not one of {PANEL_KINDS}")


@dataclass
class Curve:
    """Named series against one x axis; ``mark``: an x value to point out (the worst angle, a threshold)."""

    title: str
    x_label: str
    y_label: str
    x: list[float]
    series: dict[str, list[float]]
    mark: float | None = None


@dataclass
class AnalysisView:
    panels: list[Panel] = field(default_factory=list)
    curves: list[Curve] = field(default_factory=list)
    facts: list[str] = field(default_factory=list)  # findings in plain words, one per line


@dataclass
class AnalysisStep:
    """One step's record (CPU only): progress, a line of words, and optionally what to paint now."""

    step: int
    total: int
    message: str
    view: AnalysisView | None = None
