"""A figure as a few placed items (images, text, rectangles) and the two ways to draw it: a raster (PNG, PDF) with
Pillow, and an SVG with vector text and the images embedded as PNG data.

Coordinates are pixels of the raster at the figure's resolution, origin top left. One layout drives both outputs,
so the PNG, the PDF and the SVG show the same figure.
"""
from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

FONT_FAMILY = "DejaVu Sans, Helvetica, Arial, sans-serif"  # SVG: the viewer's sans-serif when DejaVu is missing
# The SVG's text is set in the viewer's font: DejaVu Sans runs up to ~19 % wider than Pillow's built-in font, so
# lines are measured this much wider than the raster draws them, and fit in both.
WIDTH_ALLOWANCE = 1.2

# Pillow's built-in scalable font has no Greek letters nor some symbols: the raster spells them out (SVG keeps them)
RASTER_SPELLING = {"ε": "eps", "Δ": "delta ", "δ": "delta", "×": "x", "−": "-", "–": "-", "—": "-", "‖": "||",
                   "∞": "inf", "≥": ">=", "≤": "<=", "→": "->", "µ": "u", "θ": "theta", "α": "alpha", "σ": "sigma",
                   "⁺": "+", "₁": "1", "₀": "0", "′": "'", "·": ".", "≈": "~", "’": "'", "‘": "'", "“": '"', "”": '"',
                   "…": "..."}


@dataclass(frozen=True)
class ImageItem:
    """An RGB image (H, W, 3) uint8 placed with its top-left corner at (x, y), drawn pixel for pixel."""

    role: str
    x: int
    y: int
    rgb: np.ndarray

    @property
    def box(self) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1), x1 / y1 exclusive."""
        return self.x, self.y, self.x + self.rgb.shape[1], self.y + self.rgb.shape[0]


@dataclass(frozen=True)
class TextItem:
    """One line of text; ``align`` "left", "centre" or "right" about x; y is the top of the line."""

    role: str
    x: float
    y: float
    text: str
    size: int
    align: str = "left"
    fill: str = "#000000"
    outline: str | None = None  # a halo, for text drawn over an image


@dataclass(frozen=True)
class RectItem:
    role: str
    x: float
    y: float
    width: float
    height: float
    fill: str | None = None
    outline: str | None = None
    line_width: int = 1


@dataclass
class Layout:
    """A figure: its size in pixels, its resolution and its items, in drawing order."""

    width: int
    height: int
    dpi: int
    background: str = "#ffffff"
    items: list = field(default_factory=list)

    def find(self, role: str) -> list:
        """The items with this role (e.g. "colorbar", "colorbar-label", "caption")."""
        return [item for item in self.items if item.role == role]


@lru_cache(maxsize=16)
def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's built-in font at ``size`` pixels: present on every machine Pillow runs on."""
    return ImageFont.load_default(size=size)


@lru_cache(maxsize=512)
def _has_glyph(character: str) -> bool:
    """Whether the built-in font draws ``character`` as itself, not as its missing-glyph box."""
    if character.isascii():
        return True
    missing = font(20).getmask("\uffff")
    mask = font(20).getmask(character)
    return mask.size != missing.size or bytes(mask) != bytes(missing)


def raster_text(text: str) -> str:
    """``text`` with the characters the built-in font lacks spelled out (or "?" when there is no spelling)."""
    return "".join(RASTER_SPELLING.get(ch, ch if _has_glyph(ch) else "?") for ch in text)


def text_width(text: str, size: int) -> float:
    """The width ``text`` may take in pixels, in the raster or in the SVG (see :data:`WIDTH_ALLOWANCE`)."""
    return WIDTH_ALLOWANCE * raster_width(text, size)


def raster_width(text: str, size: int) -> float:
    return float(font(size).getlength(raster_text(text)))


def wrap(text: str, size: int, width: float) -> list[str]:
    """``text`` broken at spaces into lines no wider than ``width`` pixels (a longer word keeps its own line)."""
    lines: list[str] = []
    for word in text.split():
        if lines and text_width(f"{lines[-1]} {word}", size) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


def _left(item: TextItem, width: float) -> float:
    return item.x - {"left": 0.0, "centre": width / 2, "right": width}[item.align]


def render_raster(layout: Layout) -> Image.Image:
    """The layout as an RGB Pillow image."""
    canvas = Image.new("RGB", (layout.width, layout.height), layout.background)
    draw = ImageDraw.Draw(canvas)
    for item in layout.items:
        if isinstance(item, ImageItem):
            canvas.paste(Image.fromarray(np.ascontiguousarray(item.rgb)), (item.x, item.y))
        elif isinstance(item, RectItem):
            draw.rectangle([item.x, item.y, item.x + item.width - 1, item.y + item.height - 1], fill=item.fill,
                           outline=item.outline, width=item.line_width)
        else:
            text = raster_text(item.text)
            halo = {"stroke_width": max(1, item.size // 10), "stroke_fill": item.outline} if item.outline else {}
            draw.text((_left(item, raster_width(item.text, item.size)), item.y), text, font=font(item.size),
                      fill=item.fill, **halo)
    return canvas


def _png_data_uri(rgb: np.ndarray) -> str:
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb)).save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _svg_item(item) -> str:
    if isinstance(item, ImageItem):
        height, width = item.rgb.shape[:2]
        return (f'<image x="{item.x}" y="{item.y}" width="{width}" height="{height}" '
                f'style="image-rendering:pixelated" preserveAspectRatio="none" href="{_png_data_uri(item.rgb)}"/>')
    if isinstance(item, RectItem):
        fill = item.fill or "none"
        stroke = f' stroke="{item.outline}" stroke-width="{item.line_width}"' if item.outline else ""
        return (f'<rect x="{item.x}" y="{item.y}" width="{item.width}" height="{item.height}" '
                f'fill="{fill}"{stroke}/>')
    anchor = {"left": "start", "centre": "middle", "right": "end"}[item.align]
    baseline = item.y + 0.8 * item.size  # the raster's text top + the ascent of a sans-serif font
    text = (f'<text class="{html.escape(item.role)}" x="{item.x:.1f}" y="{baseline:.1f}" font-size="{item.size}" '
            f'text-anchor="{anchor}" fill="{{fill}}"{{stroke}}>{html.escape(item.text)}</text>')
    plain = text.format(fill=item.fill, stroke="")
    if not item.outline:
        return plain
    # the halo as its own text underneath: renderers without paint-order (Qt's) would paint it over the fill
    stroke = f' stroke="{item.outline}" stroke-width="{max(1, item.size // 10) * 2}" stroke-linejoin="round"'
    return text.format(fill=item.outline, stroke=stroke) + plain


def render_svg(layout: Layout) -> str:
    """The layout as an SVG document: vector text, images as embedded PNG, physical size at the layout's dpi."""
    inches = (layout.width / layout.dpi, layout.height / layout.dpi)
    body = "\n".join(_svg_item(item) for item in layout.items)
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{inches[0]:.3f}in" height="{inches[1]:.3f}in" '
            f'viewBox="0 0 {layout.width} {layout.height}" font-family="{FONT_FAMILY}">\n'
            f'<rect width="100%" height="100%" fill="{layout.background}"/>\n{body}\n</svg>\n')
