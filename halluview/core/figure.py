"""A finished run as a figure a researcher can put in a paper: clean / perturbed / difference side by side, a zoomed
view of the region, a colour bar in the scan's units, a scale bar in mm and a caption; PNG, SVG or PDF.

    figure = figure_from_result(result, units=unit_map_of_the_slice, region=mask, pixel_spacing_mm=(0.7, 0.7))
    save_figure(figure, "run-3.png")      # or .svg / .pdf

The difference is coloured with :mod:`halluview.core.display`'s table, as in the app and the HTML report.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .atomic import atomic_file, write_text_atomic
from .display import ACCENT, diverging_rgb, format_eps, grey_rgb, grey_window, robust_limit
from .figure_layout import ImageItem, Layout, RectItem, TextItem, render_raster, render_svg, text_width, wrap
from .units import HU, WORKING, UnitMap

FORMATS = (".png", ".svg", ".pdf")
TITLES = ("Clean reconstruction", "Perturbed reconstruction", "Difference (perturbed − clean)")


@dataclass(frozen=True)
class RunFigure:
    """What a run's figure shows. Images are (H, W) in the scan's units; the difference is perturbed − clean.

    Attributes
    ----------
    units : the scan's unit, named on the colour bar ("HU" for CT).
    region : bool (H, W) mask of the drawn region, outlined and shown zoomed; None for none.
    pixel_spacing_mm : (row, column) size of one pixel in mm; a scale bar is drawn when given.
    caption : the caption's paragraphs (scan, model, acquisition, ε, verdict).
    window : grey levels (low, high) of clean and perturbed, in the scan's units; default: the clean image's
        0.5th–99.5th percentile.
    difference_limit : the colour bar's ±limit in the scan's units; default: the robust |Δ| of the difference.
    inset : show the zoomed region row (when there is a region).
    dpi : print resolution, recorded in the PNG and setting the SVG's and PDF's physical size.
    """

    clean: np.ndarray
    perturbed: np.ndarray
    difference: np.ndarray
    units: str = "a.u."
    region: np.ndarray | None = None
    pixel_spacing_mm: tuple[float, float] | None = None
    caption: tuple[str, ...] = ()
    window: tuple[float, float] | None = None
    difference_limit: float | None = None
    inset: bool = True
    dpi: int = 300

    def levels(self) -> tuple[float, float]:
        return self.window if self.window is not None else grey_window(self.clean)

    def limit(self) -> float:
        return self.difference_limit if self.difference_limit is not None else robust_limit(self.difference)


def units_of(config: dict) -> UnitMap:
    """The unit mapping a recorded run's images need: HU for CT scans in HU, else the working units as they are
    (a scan in other units works in [0, 1] of its slice's range; pass the slice's ``unit_map`` for its own)."""
    facts = config.get("scan_facts") or {}
    return HU if facts.get("units") == "HU" else WORKING


def caption_lines(config: dict, verdict=None, realised_eps: float | None = None, metrics: dict | None = None,
                  noise_metrics: dict | None = None) -> tuple[str, ...]:
    """The caption of a run: what was attacked, with which budget and objective, and the verdict in words (the
    clinician's sentence with the SSIMs when ``metrics`` are given, else the verdict's headline)."""
    from .attacks.verdict import in_words
    from .choices import attacked_line

    threat, objective = config.get("threat") or {}, config.get("objective") or {}
    optimizer = config.get("optimizer") or {}
    what = attacked_line(config)
    if config.get("surrogate"):
        what += f"; transfer from {config['surrogate']}"
    budget = f"{str(threat.get('norm', '')).upper()} budget ε = {format_eps(threat.get('eps', 0.0), threat)}"
    if realised_eps is not None:
        budget += f" (realised {format_eps(realised_eps, threat)})"
    kind = objective.get("kind", "?")
    attack = f"Attack: {kind} objective, {budget}, {optimizer.get('steps', '?')} steps, seed {config.get('seed', 0)}."
    lines = [f"Reconstruction {what}.", attack]
    if verdict is not None:
        lines.append(in_words(kind, verdict, metrics, noise_metrics) if metrics else verdict.headline)
    return tuple(lines)


def figure_from_result(result, units: UnitMap | None = None, region: np.ndarray | None = None,
                       pixel_spacing_mm: tuple[float, float] | None = None,
                       window: tuple[float, float] | None = None, **options) -> RunFigure:
    """The figure of a finished :class:`~halluview.core.attacks.run.AttackResult`.

    ``units`` maps the result's working units to the scan's (default :func:`units_of` its config); ``window``
    is in the scan's units. Other keyword arguments go to :class:`RunFigure` (inset, dpi, difference_limit).
    """
    units = units or units_of(result.config)
    clean = np.asarray(units.to_scan(np.asarray(result.clean, np.float64)))
    perturbed = np.asarray(units.to_scan(np.asarray(result.perturbed, np.float64)))
    difference = np.asarray(units.difference_to_scan(result.perturbed.astype(np.float64) - result.clean))
    realised = (result.norms or {}).get("realised_eps")
    caption = caption_lines(result.config, result.verdict, realised, result.metrics, result.noise_metrics)
    return RunFigure(clean, perturbed, difference, units=units.label, region=region,
                     pixel_spacing_mm=pixel_spacing_mm, caption=caption, window=window, **options)


def save_figure(figure: RunFigure, path: str | Path) -> Path:
    """Write the figure as PNG (with its dpi), SVG or PDF, chosen by the suffix; atomically. Returns the path."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"{path.name}: a figure is saved as {', '.join(FORMATS)}, not {suffix or 'no suffix'}")
    layout = build_layout(figure)
    if suffix == ".svg":
        return write_text_atomic(path, render_svg(layout))
    with atomic_file(path) as temporary:
        image = render_raster(layout)
        if suffix == ".png":
            image.save(temporary, format="PNG", dpi=(layout.dpi, layout.dpi))
        else:
            image.save(temporary, format="PDF", resolution=float(layout.dpi))
    return path


# --- layout ------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Sizes:
    """Lengths in pixels at the figure's dpi."""

    dpi: int

    def pt(self, points: float) -> int:
        return max(1, int(round(points * self.dpi / 72)))

    def inch(self, inches: float) -> int:
        return max(1, int(round(inches * self.dpi)))


def _zoom(shape: tuple[int, int], dpi: int) -> int:
    """Integer up-sampling so each panel is about 2.2 inches wide: pixels stay square and sharp."""
    return max(1, int(round(2.2 * dpi / max(shape))))


def _upsample(rgb: np.ndarray, factor: int) -> np.ndarray:
    return np.repeat(np.repeat(rgb, factor, axis=0), factor, axis=1)


def _outline(mask: np.ndarray, thickness: int) -> np.ndarray:
    """The pixels of ``mask`` within ``thickness`` of its edge (4-neighbour erosion)."""
    inner = mask.copy()
    for _ in range(thickness):
        padded = np.pad(inner, 1, constant_values=False)
        inner = (padded[1:-1, 1:-1] & padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2]
                 & padded[1:-1, 2:])
    return mask & ~inner


def _with_outline(rgb: np.ndarray, mask: np.ndarray | None, thickness: int) -> np.ndarray:
    if mask is None:
        return rgb
    rgb = rgb.copy()
    rgb[_outline(mask, thickness)] = tuple(int(ACCENT[i:i + 2], 16) for i in (1, 3, 5))
    return rgb


def _crop_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """A square around the region with half its size as margin (at least 8 pixels), inside the image."""
    rows, cols = np.nonzero(mask)
    centre = ((rows.min() + rows.max() + 1) / 2, (cols.min() + cols.max() + 1) / 2)
    side = max(rows.max() - rows.min() + 1, cols.max() - cols.min() + 1)
    side = int(min(max(side * 2, side + 16), *mask.shape))
    top = int(np.clip(round(centre[0] - side / 2), 0, mask.shape[0] - side))
    left = int(np.clip(round(centre[1] - side / 2), 0, mask.shape[1] - side))
    return top, left, top + side, left + side


def _panels(figure: RunFigure) -> list[tuple[str, np.ndarray]]:
    low, high = figure.levels()
    return [("clean", grey_rgb(figure.clean, low, high)), ("perturbed", grey_rgb(figure.perturbed, low, high)),
            ("difference", diverging_rgb(figure.difference, figure.limit()))]


def _nice_length_mm(width_mm: float) -> float:
    """1, 2 or 5 × 10^k mm, the largest at most a fifth of the image width."""
    target = width_mm / 5
    power = 10 ** math.floor(math.log10(target))
    return max(m * power for m in (1, 2, 5) if m * power <= target)


def _fitting_size(texts: tuple[str, ...], size: int, width: float) -> int:
    """The largest font size up to ``size`` at which every text fits ``width`` pixels (at least 60 %)."""
    widest = max(text_width(text, size) for text in texts)
    return max(int(size * 0.6), min(size, int(size * width / widest)))


def _format_tick(value: float) -> str:
    return "0" if value == 0 else f"{value:+.3g}"


def build_layout(figure: RunFigure) -> Layout:
    """Place the figure's panels, colour bar, scale bar, zoomed region and caption."""
    size = _Sizes(figure.dpi)
    margin, gap = size.inch(0.12), size.inch(0.08)
    tick, caption = size.pt(7.5), size.pt(8.5)
    height, width = figure.clean.shape
    factor = _zoom((height, width), figure.dpi)
    panel_w, panel_h = width * factor, height * factor
    title = _fitting_size(TITLES, size.pt(9), 0.95 * panel_w)
    thickness = max(2, figure.dpi // 100)
    items: list = []
    y = margin
    for k, text in enumerate(TITLES):
        items.append(TextItem("title", margin + k * (panel_w + gap) + panel_w / 2, y, text, title, "centre"))
    y += int(title * 1.5)
    panels = _panels(figure)
    mask = None if figure.region is None else _upsample(figure.region.astype(bool), factor)
    for k, (name, rgb) in enumerate(panels):
        items.append(ImageItem(name, margin + k * (panel_w + gap), y, _with_outline(_upsample(rgb, factor), mask,
                                                                                  thickness)))
    bar_x = margin + 3 * (panel_w + gap)
    right = _colour_bar(items, figure, bar_x, y, panel_h, size, tick)
    if figure.pixel_spacing_mm is not None:
        _scale_bar(items, figure, margin, y, factor, panel_h, size, tick)
    y += panel_h
    if figure.inset and figure.region is not None and figure.region.any():
        y = _inset_row(items, figure, panels, margin, y + gap, (panel_w, panel_h, gap), factor, thickness, tick)
    y += gap
    for paragraph in figure.caption:
        for line in wrap(paragraph, caption, right - 2 * margin):
            items.append(TextItem("caption", margin, y, line, caption))
            y += int(caption * 1.35)
    return Layout(int(right), int(y + margin), figure.dpi, items=items)


def _colour_bar(items: list, figure: RunFigure, x: int, y: int, height: int, size: _Sizes, tick: int) -> float:
    """The difference's colour bar (+limit at the top), its ticks in the scan's units and its unit; returns the
    right edge of the figure."""
    limit = figure.limit()
    values = limit * (1 - 2 * (np.arange(height) + 0.5) / height)
    bar_w = size.inch(0.12)
    items.append(ImageItem("colorbar", x, y, np.repeat(diverging_rgb(values, limit)[:, None], bar_w, axis=1)))
    items.append(TextItem("colorbar-label", x, y - int(tick * 1.5), figure.units, tick))
    widest = 0.0
    for fraction in (1.0, 0.5, 0.0, -0.5, -1.0):
        row = y + (1 - fraction) / 2 * (height - 1)
        label = _format_tick(fraction * limit)
        items.append(RectItem("colorbar-tick", x + bar_w, row, size.pt(2), 1, fill="#000000"))
        items.append(TextItem("colorbar-tick-label", x + bar_w + size.pt(3), row - tick * 0.55, label, tick))
        widest = max(widest, text_width(label, tick))
    return x + bar_w + size.pt(3) + max(widest, text_width(figure.units, tick)) + size.inch(0.12)


def _scale_bar(items: list, figure: RunFigure, x: int, y: int, factor: int, panel_h: int, size: _Sizes,
               tick: int) -> None:
    """A white bar of a round number of mm in the clean panel's lower left corner."""
    column_mm = float(figure.pixel_spacing_mm[1])
    length_mm = _nice_length_mm(figure.clean.shape[1] * column_mm)
    length_px = length_mm / column_mm * factor
    bar_h = size.pt(2.5)
    left, top = x + size.inch(0.08), y + panel_h - size.inch(0.08) - bar_h
    items.append(RectItem("scalebar", left, top, length_px, bar_h, fill="#ffffff", outline="#000000"))
    items.append(TextItem("scalebar-label", left + length_px / 2, top - tick * 1.3, f"{length_mm:g} mm", tick,
                          "centre", fill="#ffffff", outline="#000000"))


def _inset_row(items: list, figure: RunFigure, panels: list, x: int, y: int, cell: tuple[int, int, int],
               factor: int, thickness: int, tick: int) -> int:
    """The region's neighbourhood, magnified, under each panel; its box drawn on the panels. Returns the bottom."""
    panel_w, panel_h, gap = cell
    top, left, bottom, right = _crop_box(figure.region)
    zoom = max(1, min(panel_w // (right - left), panel_h // (bottom - top)))
    for k in range(3):
        items.append(RectItem("inset-box", x + k * (panel_w + gap) + left * factor, y - gap - panel_h + top * factor,
                              (right - left) * factor, (bottom - top) * factor, outline="#ffffff", line_width=2))
    label = f"The region and its surroundings, magnified {zoom / factor:.2g}× more"
    items.append(TextItem("inset-label", x, y, label, tick))
    y += int(tick * 1.6)
    mask = _upsample(figure.region[top:bottom, left:right].astype(bool), zoom)
    for k, (name, rgb) in enumerate(panels):
        crop = _with_outline(_upsample(rgb[top:bottom, left:right], zoom), mask, thickness)
        items.append(ImageItem(f"inset-{name}", x + k * (panel_w + gap), y, crop))
    return y + (bottom - top) * zoom
