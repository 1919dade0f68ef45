"""Small line plots as inline SVG (no plotting library): the report's per-step curves."""
from __future__ import annotations

import html
import math
from collections.abc import Sequence

COLOURS = ("#c0392b", "#2471a3", "#7d3c98", "#1e8449")


def _nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high] (1, 2 or 5 × 10^k apart)."""
    span = high - low
    raw = span / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = min((m * power for m in (1, 2, 5, 10) if m * power >= raw), default=10 * power)
    first = math.ceil(low / step - 1e-9) * step
    return [first + k * step for k in range(int((high - first) / step + 1e-9) + 1)]


def _finite_range(series: Sequence[Sequence[float]]) -> tuple[float, float]:
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


def line_plot(x: Sequence[float], series: dict[str, Sequence[float]], title: str, x_label: str = "step",
              width: int = 360, height: int = 220) -> str:
    """An ``<svg>`` element plotting each named series against ``x``; NaN / inf points are left out.

    Each series is a polyline in its own colour, with a legend; axes carry round tick values.
    """
    left, right, top, bottom = 58, 12, 44, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    x_low, x_high = _finite_range([x])
    y_low, y_high = _finite_range(list(series.values()))

    def px(value: float) -> float:
        return left + (value - x_low) / (x_high - x_low) * plot_w

    def py(value: float) -> float:
        return top + (1 - (value - y_low) / (y_high - y_low)) * plot_h

    parts = [f'<svg class="plot" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{html.escape(title)}">',
             f'<title>{html.escape(title)}</title>',
             f'<text x="{left}" y="16" font-size="13" font-weight="bold">{html.escape(title)}</text>',
             f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#888"/>']
    for tick in _nice_ticks(y_low, y_high):
        if y_low <= tick <= y_high:
            parts.append(f'<line x1="{left - 4}" x2="{left + plot_w}" y1="{py(tick):.1f}" y2="{py(tick):.1f}" '
                         f'stroke="#ddd"/><text x="{left - 6}" y="{py(tick) + 4:.1f}" font-size="11" '
                         f'text-anchor="end">{_label(tick)}</text>')
    for tick in _nice_ticks(x_low, x_high):
        if x_low <= tick <= x_high:
            parts.append(f'<text x="{px(tick):.1f}" y="{top + plot_h + 15}" font-size="11" '
                         f'text-anchor="middle">{_label(tick)}</text>')
    parts.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 6}" font-size="11" '
                 f'text-anchor="middle">{html.escape(x_label)}</text>')
    legend_x = left
    for k, (name, values) in enumerate(series.items()):
        colour = COLOURS[k % len(COLOURS)]
        points = " ".join(f"{px(a):.1f},{py(b):.1f}" for a, b in zip(x, values)
                          if b is not None and math.isfinite(b) and math.isfinite(a))
        parts.append(f'<polyline class="series" data-name="{html.escape(name)}" fill="none" stroke="{colour}" '
                     f'stroke-width="2" points="{points}"/>')
        parts.append(f'<line x1="{legend_x}" x2="{legend_x + 16}" y1="30" y2="30" stroke="{colour}" '
                     f'stroke-width="2"/><text x="{legend_x + 20}" y="34" font-size="11">{html.escape(name)}</text>')
        legend_x += 30 + 7 * len(name)  # about the width of 11-px text
    parts.append("</svg>")
    return "".join(parts)
