"""Colour maps of the image panels: grey for images, a diverging map for signed differences, a heat map for |Δ|.

Colours are data: the panels look them up by name. The accent colour outlines the drawn region on every panel.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg

ACCENT = "#ffb000"  # the region outline and the drawing tools, on every panel
BACKGROUND = "#1e1e1e"  # the widget around the panels
PANEL_BACKGROUND = "#141414"  # behind the images: a touch darker, so the panels read as panels
TITLE_COLOUR = "#b4b4b4"

# pyqtgraph maps a value v to entry floor((v - low) * N / (high - low)) of an N-entry table. With an odd N and
# levels (-limit, +limit), v = 0 lands on entry (N - 1) / 2, the exact middle of the map: mid grey.
N_DIVERGING = 255

COLORMAPS: dict[str, pg.ColorMap] = {
    "grey": pg.ColorMap([0.0, 1.0], [(0, 0, 0), (255, 255, 255)], name="grey"),
    # blue (perturbed darker) – mid grey (no change) – red (perturbed brighter); bright ends for a dark theme
    "diverging": pg.ColorMap([0.0, 0.5, 1.0], [(40, 110, 255), (128, 128, 128), (255, 60, 40)],
                             name="diverging"),
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
    return COLORMAPS[name].getLookupTable(0.0, 1.0, n_entries, alpha=False, mode="byte")
