"""An analysis's view as a figure: its panels side by side, its curves beneath, its findings as a caption (PNG or
SVG), and each curve also as its own vector SVG. The CLI writes them; the README's figures are made with them."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from ..atomic import atomic_file, write_text_atomic
from ..display import diverging_rgb, grey_rgb, grey_window, robust_limit
from ..figure_layout import ImageItem, Layout, TextItem, font, raster_text, render_raster, render_svg, wrap
from ..svg_plot import PALETTE, _nice_ticks, finite_range, line_plot, svg_document
from .view import AnalysisView, Curve, Panel

PANEL_PX = 256  # the longer side of each panel in the figure
CURVE_SIZE = (420, 240)
MAP_STOPS = ((0.0, (0, 0, 4)), (0.25, (87, 16, 110)), (0.5, (188, 55, 84)), (0.75, (249, 142, 9)),
             (1.0, (252, 255, 164)))
"""A sequential colour table for non-negative maps (close to matplotlib's "inferno": dark is 0)."""


def map_rgb(values: np.ndarray, high: float | None = None) -> np.ndarray:
    """A non-negative map as RGB through :data:`MAP_STOPS`, 0 → black, ``high`` (default the maximum) → yellow."""
    values = np.nan_to_num(np.asarray(values, dtype=np.float64))
    high = float(values.max()) if high is None else float(high)
    scaled = np.clip(values / high, 0, 1) if high > 0 else np.zeros_like(values)
    stops = np.array([p for p, _ in MAP_STOPS])
    colours = np.array([c for _, c in MAP_STOPS], dtype=np.float64)
    rgb = np.stack([np.interp(scaled, stops, colours[:, k]) for k in range(3)], axis=-1)
    return np.rint(rgb).astype(np.uint8)


def panel_rgb(panel: Panel) -> np.ndarray:
    """A panel's image as RGB, the way the app paints it: grey (auto window), signed (symmetric robust scale) or
    map (0 to its maximum)."""
    image = np.asarray(panel.image, dtype=np.float64)
    if panel.limits is not None:
        low, high = panel.limits
        if panel.kind == "map":
            return map_rgb(np.clip(image - low, 0, None), high - low)
        return grey_rgb(image, low, high) if panel.kind == "grey" else diverging_rgb(image, max(abs(low), abs(high)))
    if panel.kind == "signed":
        return diverging_rgb(image, robust_limit(image))
    if panel.kind == "map":
        return map_rgb(image)
    return grey_rgb(image, *grey_window(image))


def _scaled(rgb: np.ndarray, longest: int) -> np.ndarray:
    height, width = rgb.shape[:2]
    factor = longest / max(height, width)
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    return np.asarray(Image.fromarray(rgb).resize(size, Image.NEAREST))


def curve_rgb(curve: Curve, size: tuple[int, int] = CURVE_SIZE) -> np.ndarray:
    """A curve drawn as a raster plot (RGB): frame, round ticks, one line per series, a legend and the mark."""
    width, height = size
    left, right, top, bottom = 56, 10, 40, 34
    canvas = Image.new("RGB", size, "#ffffff")
    draw = ImageDraw.Draw(canvas)
    x_low, x_high = finite_range([curve.x])
    y_low, y_high = finite_range(list(curve.series.values()))
    frame_w, frame_h = width - left - right, height - top - bottom

    def px(value: float) -> float:
        return left + (value - x_low) / (x_high - x_low) * frame_w

    def py(value: float) -> float:
        return top + (1 - (value - y_low) / (y_high - y_low)) * frame_h

    small = font(11)
    draw.text((left, 4), raster_text(curve.title), font=font(13), fill="#000000")
    for tick in _nice_ticks(y_low, y_high):
        if y_low <= tick <= y_high:
            draw.line([(left, py(tick)), (left + frame_w, py(tick))], fill="#dddddd")
            draw.text((left - 4, py(tick) - 6), f"{tick:.4g}", font=small, fill="#000000", anchor="ra")
    for tick in _nice_ticks(x_low, x_high):
        if x_low <= tick <= x_high:
            draw.text((px(tick), top + frame_h + 3), f"{tick:.4g}", font=small, fill="#000000", anchor="ma")
    draw.text((left + frame_w / 2, height - 14), raster_text(curve.x_label), font=small, fill="#000000", anchor="ma")
    draw.rectangle([left, top, left + frame_w, top + frame_h], outline="#888888")
    if curve.mark is not None and math.isfinite(curve.mark) and x_low <= curve.mark <= x_high:
        draw.line([(px(curve.mark), top), (px(curve.mark), top + frame_h)], fill="#555555", width=1)
    legend_x = left
    for k, (name, values) in enumerate(curve.series.items()):
        colour = PALETTE[k % len(PALETTE)]
        points = [(px(a), py(b)) for a, b in zip(curve.x, values)
                  if b is not None and math.isfinite(b) and math.isfinite(a)]
        if len(points) > 1:
            draw.line(points, fill=colour, width=2)
        elif points:
            draw.ellipse([points[0][0] - 2, points[0][1] - 2, points[0][0] + 2, points[0][1] + 2], fill=colour)
        draw.line([(legend_x, 28), (legend_x + 14, 28)], fill=colour, width=2)
        draw.text((legend_x + 17, 22), raster_text(name), font=small, fill="#000000")
        legend_x += 26 + small.getlength(raster_text(name))
    return np.asarray(canvas)


def view_layout(view: AnalysisView, title: str) -> Layout:
    """Panels in a row (title above each), curves in a row beneath, findings as the caption."""
    margin, gap, title_px, text_px = 16, 12, 14, 13
    tiles = [(panel, _scaled(panel_rgb(panel), PANEL_PX)) for panel in view.panels]
    curves = [curve_rgb(curve) for curve in view.curves]
    row_w = sum(rgb.shape[1] for _, rgb in tiles) + gap * max(len(tiles) - 1, 0)
    curve_w = sum(c.shape[1] for c in curves) + gap * max(len(curves) - 1, 0)
    width = max(row_w, curve_w, 480) + 2 * margin
    items: list = [TextItem("title", margin, margin, title, 16)]
    y = margin + 26
    x = margin
    panel_h = max((rgb.shape[0] for _, rgb in tiles), default=0)
    for panel, rgb in tiles:
        items.append(TextItem("panel-title", x + rgb.shape[1] / 2, y, panel.title, title_px, "centre"))
        items.append(ImageItem("panel", x, y + 20, rgb))
        for k, line in enumerate(wrap(panel.note, 11, rgb.shape[1])[:2]):
            items.append(TextItem("panel-note", x, y + 24 + rgb.shape[0] + 13 * k, line, 11))
        x += rgb.shape[1] + gap
    y += (20 + panel_h + 34) if tiles else 0
    x = margin
    for rgb in curves:
        items.append(ImageItem("curve", x, y, rgb))
        x += rgb.shape[1] + gap
    y += max((c.shape[0] for c in curves), default=0) + (gap if curves else 0)
    for fact in view.facts:
        for line in wrap(fact, text_px, width - 2 * margin):
            items.append(TextItem("caption", margin, y, line, text_px))
            y += text_px + 5
    return Layout(width=int(width), height=int(y + margin), dpi=100, items=items)


def save_view(view: AnalysisView, path: str | Path, title: str) -> list[Path]:
    """Write the figure (``.png`` or ``.svg`` by suffix) and each curve as ``<stem>-curve-<k>.svg`` beside it,
    atomically. Returns the paths written."""
    path = Path(path)
    layout = view_layout(view, title)
    if path.suffix == ".svg":
        write_text_atomic(path, render_svg(layout))
    elif path.suffix == ".png":
        with atomic_file(path) as temporary:
            render_raster(layout).save(temporary, format="PNG", optimize=True)
    else:
        raise ValueError(f"{path}: a figure is .png or .svg")
    written = [path]
    for k, curve in enumerate(view.curves):
        svg = line_plot(curve.x, curve.series, curve.title, curve.x_label, *CURVE_SIZE)
        curve_path = path.with_name(f"{path.stem}-curve-{k + 1}.svg")
        write_text_atomic(curve_path, svg_document(svg))
        written.append(curve_path)
    return written
