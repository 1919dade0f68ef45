"""Colour maps of the image panels: grey for images, a diverging map for signed differences, a heat map for |Δ|.

Colours are data: the panels look them up by name. The accent colour outlines the drawn region on every panel.
The diverging map is :mod:`halluview.core.display`'s table, entry for entry: the same colours as the exported
figure and the HTML report.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from ..core.display import ACCENT, N_DIVERGING, diverging_lut

__all__ = ["ACCENT", "BACKGROUND", "COLORMAPS", "IMAGE_COLORMAPS", "N_DIVERGING", "PANEL_BACKGROUND", "TITLE_COLOUR",
           "lookup_table"]
BACKGROUND = "#1e1e1e"  # the widget around the panels
PANEL_BACKGROUND = "#141414"  # behind the images: a touch darker, so the panels read as panels
TITLE_COLOUR = "#b4b4b4"

# pyqtgraph maps a value v to entry floor((v - low) * N / (high - low)) of an N-entry table. With an odd N and
# levels (-limit, +limit), v = 0 lands on entry (N - 1) / 2, the exact middle of the map: mid grey. The map's stops
# are the core table's entries, so its N-entry lookup table is that table exactly.

COLORMAPS: dict[str, pg.ColorMap] = {
    "grey": pg.ColorMap([0.0, 1.0], [(0, 0, 0), (255, 255, 255)], name="grey"),
    # blue (perturbed darker) – mid grey (no change) – red (perturbed brighter): core.display's table
    "diverging": pg.ColorMap(np.linspace(0.0, 1.0, N_DIVERGING), diverging_lut(), name="diverging"),
    # |Δ|: black (no change) → red → yellow
    "heat": pg.ColorMap([0.0, 0.55, 1.0], [(0, 0, 0), (215, 35, 20), (255, 235, 70)], name="heat"),
    # perceptually uniform alternatives for the images (shipped with pyqtgraph, no download)
    "viridis": pg.colormap.get("viridis"),
    "inferno": pg.colormap.get("inferno"),
}
IMAGE_COLORMAPS = ("grey", "viridis", "inferno")


def lookup_table(name: str, n_entries: int | None = None) -> np.ndarray:
    """The (N, 3) uint8 lookup table of the colour map ``name`` ("grey", "diverging" or "heat").

    The diverging map defaults to :data:`N_DIVERGING` entries so that 0 maps to its middle entry.
    """
    if name not in COLORMAPS:
        raise ValueError(f"unknown colour map {name!r}; choose one of {sorted(COLORMAPS)}")
    n_entries = n_entries or (N_DIVERGING if name == "diverging" else 256)
    if name == "diverging" and n_entries == N_DIVERGING:
        return diverging_lut()
    return COLORMAPS[name].getLookupTable(0.0, 1.0, n_entries, alpha=False, mode="byte")
