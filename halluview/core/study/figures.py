"""The study's figures as hand-written SVG (no plotting library): Δ against ε per reconstruction, attack against
equal-norm noise with their spread over slices and seeds (Han et al. 2024, fig. 3), and accuracy against
stability. Every figure is NaN-safe, and says so in words when there is nothing to draw."""
from __future__ import annotations

import html
import math

from ..svg_plot import PALETTE, Frame, finite_range, svg_start, x_caption, x_ticks, y_grid
from .summary import (
    CLEAN,
    MIXED,
    REFERENCE,
    accuracy_points,
    default_verdict_eps,
    delta_basis,
    delta_curves,
    finished,
    percent,
    recons_of,
)

WIDTH, HEIGHT, LEFT, TOP, BOTTOM = 600, 380, 66, 40, 46
LEGEND_ROW = 18
NAME_CHARS = 28  # a longer reconstruction name is shortened in the legend (the full one is its tooltip)
NAMES = {"ssim": "ΔSSIM", "psnr": "ΔPSNR"}
BASIS_WORDS = {("ssim", REFERENCE): "ΔSSIM vs reference: clean SSIM − perturbed SSIM",
               ("ssim", CLEAN): "ΔSSIM vs clean: 1 − SSIM(perturbed, clean)",
               ("ssim", MIXED): "ΔSSIM vs reference where there is one, else vs clean",
               ("psnr", REFERENCE): "ΔPSNR vs reference (dB): clean − perturbed"}


def recon_colours(rows: list[dict]) -> dict[str, tuple[str, int]]:
    """A colour and a marker shape (0–3) per reconstruction, the same in every figure of the study; after ten
    colours the shapes change."""
    return {recon: (PALETTE[k % len(PALETTE)], (k // len(PALETTE)) % 4) for k, recon in enumerate(recons_of(rows))}


def _marker(x: float, y: float, colour: str, shape: int, filled: bool = True) -> str:
    fill = colour if filled else "#fff"
    style = f'fill="{fill}" stroke="{colour}" stroke-width="1.5"'
    if shape == 1:
        return f'<rect x="{x - 3.5:.1f}" y="{y - 3.5:.1f}" width="7" height="7" {style}/>'
    if shape in (2, 3):
        corners = ((0, -5), (4.5, 3.5), (-4.5, 3.5)) if shape == 2 else ((0, -5), (5, 0), (0, 5), (-5, 0))
        points = " ".join(f"{x + a:.1f},{y + b:.1f}" for a, b in corners)
        return f'<polygon points="{points}" {style}/>'
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" {style}/>'


def _basis_words(basis: str) -> str:
    return "vs reference or vs clean" if basis == MIXED else basis


def _short(name: str) -> str:
    return name if len(name) <= NAME_CHARS else name[:NAME_CHARS - 1] + "…"


def _message(title: str, text: str) -> str:
    """A figure that says why it has nothing to show."""
    frame = Frame(LEFT, TOP, WIDTH - LEFT - 20, HEIGHT - TOP - BOTTOM, 0, 1, 0, 1)
    return "".join(svg_start(WIDTH, HEIGHT, title, frame) + [
        f'<text class="message" x="{LEFT + frame.width / 2:.1f}" y="{TOP + frame.height / 2:.1f}" font-size="14" '
        f'text-anchor="middle" fill="#666">{html.escape(text)}</text></svg>'])


def _y_caption(frame: Frame, text: str) -> str:
    x, y = 14, frame.top + frame.height / 2
    return (f'<text x="{x}" y="{y:.1f}" font-size="11" text-anchor="middle" '
            f'transform="rotate(-90 {x} {y:.1f})">{html.escape(text)}</text>')


def _legend(x: float, recons: list[str], colours: dict) -> list[str]:
    """The key (solid = attack, dashed = noise, band = spread), then one entry per reconstruction."""
    key = [("attack (worst case), markers at each ε", ""), ("random noise of the same norm", ' stroke-dasharray="6 4"')]
    parts = []
    for row, (words, dash) in enumerate(key):
        y = TOP + 6 + row * LEGEND_ROW
        parts.append(f'<line x1="{x}" x2="{x + 22}" y1="{y}" y2="{y}" stroke="#333" stroke-width="2"{dash}/>'
                     f'<text x="{x + 28}" y="{y + 4}" font-size="11">{html.escape(words)}</text>')
    y = TOP + 6 + 2 * LEGEND_ROW
    parts.append(f'<rect x="{x}" y="{y - 5}" width="22" height="10" fill="#333" fill-opacity="0.18"/>'
                 f'<text x="{x + 28}" y="{y + 4}" font-size="11">min – max over slices and seeds</text>')
    for row, recon in enumerate(recons, start=3):
        colour, shape = colours[recon]
        y = TOP + 6 + row * LEGEND_ROW + 6
        parts.append(f'<g class="legend" data-recon="{html.escape(recon)}"><title>{html.escape(recon)}</title>'
                     f'<line x1="{x}" x2="{x + 22}" y1="{y}" y2="{y}" stroke="{colour}" stroke-width="2"/>'
                     f'{_marker(x + 11, y, colour, shape)}<text x="{x + 28}" y="{y + 4}" font-size="11">'
                     f'{html.escape(_short(recon))}</text></g>')
    return parts


def _log_ticks(frame: Frame, values: list[float]) -> list[str]:
    """The study's own ε values as x labels, leaving out one that would overlap its left neighbour."""
    kept, last = [], -math.inf
    for value in values:
        if frame.px(value) - last >= 28:
            kept.append(value)
            last = frame.px(value)
    return x_ticks(frame, kept)


def _series(frame: Frame, recon: str, kind: str, curve: dict, colour: str, shape: int) -> list[str]:
    """One kind of one reconstruction: its band (min to max), its line and its markers."""
    points = [(frame.px(100 * e), m, frame.py(lo), frame.py(hi))
              for e, m, lo, hi in zip(curve["eps"], curve["mean"], curve["low"], curve["high"]) if e > 0]
    if not points:
        return []
    tag = f'data-recon="{html.escape(recon)}" data-kind="{kind}"'
    opacity = "0.18" if kind == "attack" else "0.09"
    if len(points) > 1:
        outline = [f"{x:.1f},{lo:.1f}" for x, _, lo, _ in points]
        outline += [f"{x:.1f},{hi:.1f}" for x, _, _, hi in points[::-1]]
        band = f'<path class="band" {tag} d="M{" L".join(outline)} Z" fill="{colour}" fill-opacity="{opacity}"/>'
    else:
        x, _, lo, hi = points[0]
        band = (f'<path class="band" {tag} d="M{x:.1f},{lo:.1f} L{x:.1f},{hi:.1f}" stroke="{colour}" '
                f'stroke-opacity="{opacity}" stroke-width="8"/>')
    dash = ' stroke-dasharray="6 4"' if kind == "noise" else ""
    line = " L".join(f"{x:.1f},{frame.py(m):.1f}" for x, m, _, _ in points)
    parts = [band, f'<path class="{kind}" {tag} d="M{line}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>']
    parts += [_marker(x, frame.py(m), colour, shape, filled=kind == "attack") for x, m, _, _ in points]
    return parts


def delta_figure(rows: list[dict], metric: str = "ssim") -> str:
    """Mean Δ``metric`` ("ssim" or "psnr", :func:`~.summary.delta_curves`) against ε (% of ‖y‖, log scale) per
    reconstruction: the attack solid with markers, equal-norm noise dashed in the same colour, each with a band
    from the smallest to the largest over slices and seeds. The y label says which Δ definition the rows use."""
    name = NAMES[metric]
    if not finished(rows):
        return _message(f"{name} against ε", "no finished cells yet")
    curves = {key: c for key, c in delta_curves(rows, metric).items() if any(e > 0 for e in c["eps"])}
    if not curves:
        why = "needs a reference image: no finished cell's scan has one" if metric == "psnr" else "has no values"
        return _message(f"{name} against ε", f"{name} {why}")
    basis = delta_basis(rows, metric)
    colours = recon_colours(rows)
    recons = sorted({recon for recon, _ in curves})
    legend_width = 40 + 7 * max(38, min(NAME_CHARS, max(len(r) for r in recons)))
    width, height = WIDTH + legend_width, max(HEIGHT, TOP + (len(recons) + 4) * LEGEND_ROW + BOTTOM)
    eps = sorted({100 * e for c in curves.values() for e in c["eps"] if e > 0})
    y_low, y_high = finite_range([c["low"] + c["high"] + [0.0] for c in curves.values()])
    y_high += 0.05 * (y_high - y_low)
    frame = Frame(LEFT, TOP, WIDTH - LEFT - 20, height - TOP - BOTTOM, eps[0] / 1.3, eps[-1] * 1.3, y_low, y_high,
                  log_x=True)
    parts = svg_start(width, height, f"{name} against ε, mean over slices and seeds ({basis})", frame)
    parts += y_grid(frame) + _log_ticks(frame, eps)
    parts += [x_caption(frame, "ε, % of ‖y‖ (log scale)", height), _y_caption(frame, BASIS_WORDS[metric, basis])]
    for kind in ("noise", "attack"):  # the attack drawn last, on top
        for recon in recons:
            if (recon, kind) in curves:
                parts += _series(frame, recon, kind, curves[recon, kind], *colours[recon])
    parts += _legend(WIDTH, recons, colours)
    return "".join(parts + ["</svg>"])


def _free_offset(taken: list, x0: float, x1: float, y: float) -> float:
    """The smallest vertical shift (0, ±14, ±28 … px) that keeps a label clear of those placed; it is recorded."""
    for dy in (0, 14, -14, 28, -28, 42, -42):
        box = (x0, x1, y + dy - 10, y + dy + 4)
        if not any(box[0] < t[1] and t[0] < box[1] and box[2] < t[3] and t[2] < box[3] for t in taken):
            taken.append(box)
            return dy
    taken.append((x0, x1, y - 10, y + 4))
    return 0


def accuracy_figure(rows: list[dict], eps: float | None = None, metric: str = "ssim") -> str:
    """Clean SSIM (or PSNR) against the reference (accuracy, x) and mean attack ΔSSIM (or ΔPSNR) at ``eps``
    (instability, y), one labelled point per reconstruction; ``eps`` None: :func:`~.summary.default_verdict_eps`.
    Reconstructions at the same point share one label; those without a reference are named under the plot."""
    eps = default_verdict_eps(rows) if eps is None else eps
    name, unit = ("SSIM", "") if metric == "ssim" else ("PSNR", " (dB)")
    if eps is None or not finished(rows):
        return _message("Accuracy against stability", "no finished cells yet")
    title = f"Accuracy against stability at ε = {percent(eps)}"
    points = accuracy_points(rows, eps, metric)
    placed = [p for p in points if math.isfinite(p["clean"]) and math.isfinite(p["delta"])]
    if not placed:
        why = "no finished cell at this ε" if not points else f"clean {name} needs a reference: no scan here has one"
        return _message(title, why)
    x_low, x_high = finite_range([[p["clean"] for p in placed]])
    y_low, y_high = finite_range([[p["delta"] for p in placed] + [0.0]])
    x_pad, y_pad = 0.08 * (x_high - x_low), 0.08 * (y_high - y_low)
    frame = Frame(LEFT, TOP, WIDTH - LEFT - 20, HEIGHT - TOP - BOTTOM - 16, x_low - x_pad, x_high + x_pad,
                  y_low, y_high + y_pad)
    parts = svg_start(WIDTH, HEIGHT, title, frame) + y_grid(frame) + x_ticks(frame)
    parts += [x_caption(frame, f"clean {name}{unit} vs reference (accuracy: higher is better)", HEIGHT - 16),
              _y_caption(frame, f"attack Δ{name}{unit} {_basis_words(delta_basis(rows, metric))} "
                                f"(lower: more stable)")]
    colours = recon_colours(rows)
    labelled: dict[tuple[int, int], list[str]] = {}
    for point in placed:  # reconstructions at the same pixel share one label ("zero-filled = wavelet")
        key = (round(frame.px(point["clean"])), round(frame.py(point["delta"])))
        labelled.setdefault(key, []).append(point["recon"])
    taken: list[tuple[float, float, float, float]] = []
    for point in placed:
        x, y = frame.px(point["clean"]), frame.py(point["delta"])
        colour, shape = colours[point["recon"]]
        names = labelled[(round(x), round(y))]
        text = " = ".join(_short(n) for n in names) if names[0] == point["recon"] else ""
        right = x > frame.left + frame.width * 0.7  # a label near the right edge goes left of its point
        label = ""
        if text:
            left_x = x - 8 - 6.5 * len(text) if right else x + 8
            dy = _free_offset(taken, left_x, left_x + 6.5 * len(text), y)
            label = (f'<text x="{x - 8 if right else x + 8:.1f}" y="{y + 4 + dy:.1f}" font-size="11" '
                     f'text-anchor="{"end" if right else "start"}">{html.escape(text)}</text>')
        parts.append(f'<g class="point" data-recon="{html.escape(point["recon"])}"><title>'
                     f'{html.escape(point["recon"])}: clean {name} {point["clean"]:.3f}, Δ{name} '
                     f'{point["delta"]:.3f} ({point["n"]} cells)</title>{_marker(x, y, colour, shape)}{label}</g>')
    missing = [p["recon"] for p in points if p not in placed]
    if missing:
        parts.append(f'<text x="{LEFT}" y="{HEIGHT - 4}" font-size="11" fill="#666">not shown (no reference or no '
                     f'ΔSSIM): {html.escape(", ".join(missing))}</text>')
    return "".join(parts + ["</svg>"])
