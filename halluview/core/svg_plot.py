"""Small line plots as inline SVG (no plotting library): the report's per-step curves, and the pieces (a plot
frame, its grid) the study's figures draw on."""
from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass

COLOURS = ("#c0392b", "#2471a3", "#7d3c98", "#1e8449")
# Ten colours told apart on white and by most colour-blind readers (matplotlib's "tab10"), for many series.
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf")


def _nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high] (1, 2 or 5 × 10^k apart)."""
    span = high - low
    raw = span / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = min((m * power for m in (1, 2, 5, 10) if m * power >= raw), default=10 * power)
    first = math.ceil(low / step - 1e-9) * step
    return [first + k * step for k in range(int((high - first) / step + 1e-9) + 1)]


def finite_range(series: Sequence[Sequence[float]]) -> tuple[float, float]:
    values = [v for s in series for v in s if v is not None and math.isfinite(v)]
    if not values:
        return 0.0, 1.0
    low, high = min(values), max(values)
    if high - low < 1e-12 * max(abs(low), abs(high), 1e-300):
        pad = abs(low) * 0.05 or 1.0
        return low - pad, high + pad
    return low, high


def _label(value: float) -> str:
    return f"{value:.4g}"


@dataclass(frozen=True)
class Frame:
    """The plot rectangle (pixels) of a figure and the data ranges it shows; x on a log₁₀ scale when ``log_x``."""

    left: float
    top: float
    width: float
    height: float
    x_low: float
    x_high: float
    y_low: float
    y_high: float
    log_x: bool = False

    def px(self, value: float) -> float:
        if self.log_x:
            low, high = math.log10(self.x_low), math.log10(self.x_high)
            return self.left + (math.log10(value) - low) / (high - low) * self.width
        return self.left + (value - self.x_low) / (self.x_high - self.x_low) * self.width

    def py(self, value: float) -> float:
        return self.top + (1 - (value - self.y_low) / (self.y_high - self.y_low)) * self.height


def svg_start(width: int, height: int, title: str, frame: Frame) -> list[str]:
    """The opening ``<svg>`` with its title (as a tooltip and as text over the frame) and the frame's outline."""
    return [f'<svg class="plot" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="{html.escape(title)}">',
            f'<title>{html.escape(title)}</title>',
            f'<text x="{frame.left}" y="16" font-size="13" font-weight="bold">{html.escape(title)}</text>',
            f'<rect x="{frame.left}" y="{frame.top}" width="{frame.width}" height="{frame.height}" fill="none" '
            'stroke="#888"/>']


def y_grid(frame: Frame) -> list[str]:
    """Horizontal grid lines at round y values, labelled left of the frame."""
    parts = []
    for tick in _nice_ticks(frame.y_low, frame.y_high):
        if frame.y_low <= tick <= frame.y_high:
            y = frame.py(tick)
            parts.append(f'<line x1="{frame.left - 4}" x2="{frame.left + frame.width}" y1="{y:.1f}" y2="{y:.1f}" '
                         f'stroke="#ddd"/><text x="{frame.left - 6}" y="{y + 4:.1f}" font-size="11" '
                         f'text-anchor="end">{_label(tick)}</text>')
    return parts


def x_ticks(frame: Frame, values: Sequence[float] | None = None) -> list[str]:
    """Labels under the frame at ``values`` (default: round values of a linear axis)."""
    values = _nice_ticks(frame.x_low, frame.x_high) if values is None else values
    return [f'<text x="{frame.px(tick):.1f}" y="{frame.top + frame.height + 15}" font-size="11" '
            f'text-anchor="middle">{_label(tick)}</text>' for tick in values if frame.x_low <= tick <= frame.x_high]


def x_caption(frame: Frame, text: str, height: int) -> str:
    """The x axis's label, centred under the frame at the figure's foot."""
    return (f'<text x="{frame.left + frame.width / 2:.1f}" y="{height - 6}" font-size="11" '
            f'text-anchor="middle">{html.escape(text)}</text>')


def svg_document(svg: str) -> str:
    """An inline ``<svg>`` element as a standalone .svg file's text (XML declaration and SVG namespace added)."""
    if "xmlns=" not in svg.split(">", 1)[0]:
        svg = svg.replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + svg + "\n"


def line_plot(x: Sequence[float], series: dict[str, Sequence[float]], title: str, x_label: str = "step",
              width: int = 360, height: int = 220) -> str:
    """An ``<svg>`` element plotting each named series against ``x``; NaN / inf points are left out.

    Each series is a polyline in its own colour, with a legend; axes carry round tick values.
    """
    left, right, top, bottom = 58, 12, 44, 40
    frame = Frame(left, top, width - left - right, height - top - bottom, *finite_range([x]),
                  *finite_range(list(series.values())))
    parts = svg_start(width, height, title, frame) + y_grid(frame) + x_ticks(frame)
    parts.append(x_caption(frame, x_label, height))
    legend_x = left
    for k, (name, values) in enumerate(series.items()):
        colour = COLOURS[k % len(COLOURS)]
        points = " ".join(f"{frame.px(a):.1f},{frame.py(b):.1f}" for a, b in zip(x, values)
                          if b is not None and math.isfinite(b) and math.isfinite(a))
        parts.append(f'<polyline class="series" data-name="{html.escape(name)}" fill="none" stroke="{colour}" '
                     f'stroke-width="2" points="{points}"/>')
        parts.append(f'<line x1="{legend_x}" x2="{legend_x + 16}" y1="30" y2="30" stroke="{colour}" '
                     f'stroke-width="2"/><text x="{legend_x + 20}" y="34" font-size="11">{html.escape(name)}</text>')
        legend_x += 30 + 7 * len(name)  # about the width of 11-px text
    parts.append("</svg>")
    return "".join(parts)
