"""Small features drawn on the image grid, and how much of one a reconstruction shows.

A feature is a weight map w (H, W) in [0, 1]: the share of each pixel's area the shape covers, so a feature's
total weight is its area (a disc of diameter d weighs π d² / 4 pixels) at any position and angle. The share is
exact along the rows' direction (the shape's extent over each column of samples is solved for) and sampled at
SAMPLES_PER_PX points per pixel along x. Three shapes, each of a size s in pixels:

    disc     diameter s
    line     1 px wide, LINE_LENGTH_PER_SIZE × s long   (a tear, a thin vessel)
    stroke   s wide, STROKE_LENGTH_PER_SIZE × s long     (a short thick segment)

Positions are (x, y) in pixels, x = column, y = row, pixel centres at whole numbers. Angles are in degrees from
the x axis, counter-clockwise as the image is shown (rows grow downwards).

The contrast an image shows at a feature is the w-weighted mean inside it minus the mean over a ring around it:
the pixels more than RING_INNER_PX and at most RING_OUTER_PX from the feature's nearest pixel (centre to centre).
The one-pixel gap keeps the ring off the feature's own soft edge. :func:`score_cells` adds a batch of features to
the object, acquires and reconstructs them together, and scores each (recovery, CNR, SSIM / PSNR).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from .. import metrics
from .common import AnalysisInput

SHAPES = ("disc", "line", "stroke")
LINE_LENGTH_PER_SIZE = 4
STROKE_LENGTH_PER_SIZE = 3
SAMPLES_PER_PX = 32
RING_INNER_PX, RING_OUTER_PX = 1.0, 3.0
BOX_MARGIN_PX = 4  # the neighbourhood scored by SSIM / PSNR: the feature's bounding box and its ring, plus 1 px
FLAT_RING = 1e-3  # a ring flatter than this share of the maximum counts as this flat, so the CNR stays finite


def feature_extent_px(kind: str, size_px: float) -> tuple[float, float]:
    """(length, width) of a shape in pixels: along its axis and across it (a disc: its diameter twice)."""
    if kind == "disc":
        return float(size_px), float(size_px)
    if kind == "line":
        return float(LINE_LENGTH_PER_SIZE * size_px), 1.0
    if kind == "stroke":
        return float(STROKE_LENGTH_PER_SIZE * size_px), float(size_px)
    raise ValueError(f"unknown feature shape {kind!r}; choose one of {', '.join(SHAPES)}")


def feature_mask(kind: str, size_px: float, shape: tuple[int, int], centre_xy: tuple[float, float],
                 angle_deg: float = 0.0) -> np.ndarray:
    """The feature's weight map: each pixel's share of area covered by the shape.

    Parameters
    ----------
    kind : "disc", "line" or "stroke" (see the module's docstring for their sizes).
    size_px : float
        The shape's size in pixels (a disc's diameter; a line's length / 4; a stroke's width).
    shape : (H, W) of the image grid.
    centre_xy : (x, y) of the feature's centre in pixels (column, row; need not be whole numbers).
    angle_deg : float
        The long axis's direction in degrees, counter-clockwise from the x axis as shown (discs ignore it).

    Returns
    -------
    np.ndarray
        float32 (H, W) in [0, 1]; zero away from the feature, clipped at the image's edges.
    """
    length, width = feature_extent_px(kind, size_px)
    height_px, width_px = int(shape[0]), int(shape[1])
    cx, cy = float(centre_xy[0]), float(centre_xy[1])
    reach = 0.5 * float(np.hypot(length, width)) + 1
    # Only the columns within reach are sampled: the work stays the feature's size, not the image's.
    x0, x1 = max(int(np.floor(cx - reach)), 0), min(int(np.ceil(cx + reach)) + 1, width_px)
    weights = np.zeros((height_px, width_px), np.float32)
    if x0 >= x1:
        return weights
    offsets = (np.arange(SAMPLES_PER_PX) + 0.5) / SAMPLES_PER_PX - 0.5
    dx = (np.arange(x0, x1)[:, None] + offsets).ravel() - cx
    low, high = _extent_in_y(kind, length, width, angle_deg, dx)
    edges = np.arange(height_px)[:, None] - cy  # each row's span is [edge − 0.5, edge + 0.5] about the centre
    overlap = np.clip(np.minimum(high, edges + 0.5) - np.maximum(low, edges - 0.5), 0, None)
    weights[:, x0:x1] = overlap.reshape(height_px, x1 - x0, SAMPLES_PER_PX).mean(axis=2)
    return weights


def _extent_in_y(kind: str, length: float, width: float, angle_deg: float,
                 dx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each x offset from the centre, the y offsets [low, high] the shape covers (low > high: none)."""
    if kind == "disc":
        half = np.sqrt(np.clip((length / 2) ** 2 - dx ** 2, 0, None))
        return np.where(np.abs(dx) <= length / 2, -half, 1.0), np.where(np.abs(dx) <= length / 2, half, -1.0)
    angle = np.deg2rad(angle_deg)
    # Rows grow downwards, so a counter-clockwise direction on screen is (cos a, −sin a) in (x, y): the offset
    # along the axis is dx cos a − dy sin a, across it dx sin a + dy cos a; each bound is a slab in dy.
    low_along, high_along = _slab(-np.sin(angle), dx * np.cos(angle), length / 2)
    low_across, high_across = _slab(np.cos(angle), dx * np.sin(angle), width / 2)
    return np.maximum(low_along, low_across), np.minimum(high_along, high_across)


def _slab(slope: float, offset: np.ndarray, half: float) -> tuple[np.ndarray, np.ndarray]:
    """The dy with |slope · dy + offset| ≤ half, as [low, high] per offset (all dy, or none, when slope is 0)."""
    if abs(slope) < 1e-12:
        inside = np.abs(offset) <= half
        return np.where(inside, -np.inf, 1.0), np.where(inside, np.inf, -1.0)
    ends = np.stack([(-half - offset) / slope, (half - offset) / slope])
    return ends.min(axis=0), ends.max(axis=0)


def ring_mask(weights: np.ndarray, inner_px: float = RING_INNER_PX, outer_px: float = RING_OUTER_PX) -> np.ndarray:
    """Bool (H, W): the pixels more than ``inner_px`` and at most ``outer_px`` from the feature's nearest pixel
    (any pixel of non-zero weight), centre to centre."""
    from scipy.ndimage import distance_transform_edt

    support = weights > 0
    if not support.any():
        raise ValueError("the feature covers no pixel of the image")
    distance = distance_transform_edt(~support)
    return (distance > inner_px) & (distance <= outer_px)


def neighbourhood_box(weights: np.ndarray, margin_px: int = BOX_MARGIN_PX) -> np.ndarray:
    """Bool (H, W): the feature's bounding box grown by ``margin_px`` on every side (clipped to the image)."""
    rows, cols = np.nonzero(weights > 0)
    box = np.zeros(weights.shape, bool)
    box[max(rows.min() - margin_px, 0):rows.max() + margin_px + 1,
        max(cols.min() - margin_px, 0):cols.max() + margin_px + 1] = True
    return box


def feature_contrast(images: Tensor, weights: Tensor, ring: Tensor) -> Tensor:
    """The contrast each image shows at its feature: weighted mean inside minus the mean over the ring.

    Parameters
    ----------
    images : Tensor (B, H, W), real, image units.
    weights : Tensor (B, H, W) or (H, W) in [0, 1]: the features' weight maps.
    ring : bool Tensor (B, H, W) or (H, W): their rings.

    Returns
    -------
    Tensor (B,), image units. Linear in ``images``: the contrast of a difference is the difference of contrasts.
    """
    weights = torch.broadcast_to(weights.to(images.dtype), images.shape)
    ring = torch.broadcast_to(ring.to(images.dtype), images.shape)
    inside = (images * weights).sum(dim=(-2, -1)) / weights.sum(dim=(-2, -1))
    around = (images * ring).sum(dim=(-2, -1)) / ring.sum(dim=(-2, -1))
    return inside - around


def ring_spread(images: Tensor, ring: Tensor) -> Tensor:
    """The standard deviation (population) of each (B, H, W) image over its ring: (B,), image units."""
    ring = torch.broadcast_to(ring.to(images.dtype), images.shape)
    count = ring.sum(dim=(-2, -1))
    mean = (images * ring).sum(dim=(-2, -1)) / count
    return torch.sqrt(((images - mean[:, None, None]) ** 2 * ring).sum(dim=(-2, -1)) / count)


def to_scan_xy(point_xy: tuple[float, float], grid: tuple[int, int], frame: tuple[int, int] | None
               ) -> tuple[float, float]:
    """A working-grid pixel position in the scan's own pixels (where regions and lesions are drawn); the same
    position when the slice is worked on at its own size (``frame`` None)."""
    if frame is None:
        return float(point_xy[0]), float(point_xy[1])
    sy, sx = grid[0] / frame[0], grid[1] / frame[1]
    return (point_xy[0] + 0.5) / sx - 0.5, (point_xy[1] + 0.5) / sy - 0.5


def to_grid_xy(point_xy: tuple[float, float], grid: tuple[int, int], frame: tuple[int, int] | None
               ) -> tuple[float, float]:
    """Inverse of :func:`to_scan_xy`: a position in the scan's own pixels on the working grid."""
    if frame is None:
        return float(point_xy[0]), float(point_xy[1])
    sy, sx = grid[0] / frame[0], grid[1] / frame[1]
    return (point_xy[0] + 0.5) * sx - 0.5, (point_xy[1] + 0.5) * sy - 0.5


@dataclass
class Placement:
    """Where features went (working-grid pixels) and the object's mean intensity around it (× its maximum)."""

    x: float
    y: float
    local_mean: float
    in_background: bool


@dataclass
class FeatureCell:
    """One feature of the grid and its scores (:func:`score_cells`); ``point`` indexes the places."""

    point: int
    shape: str
    size_px: int
    contrast: float
    recovery: float = math.nan
    cnr: float = math.nan
    cnr_object: float = math.nan  # the CNR the feature has in x′ itself: what a perfect reconstruction would show
    detected: bool = False
    ssim: float = math.nan
    psnr: float = math.nan
    ssim_without: float = math.nan  # f(y) against x in the same box: the reconstruction's error without it


@dataclass
class DrawnFeature:
    """A feature's weight map (float), ring and neighbourhood box (bool), (H, W) tensors on the device."""

    weights: Tensor
    ring: Tensor
    box: Tensor


def draw_feature(kind: str, size_px: float, grid: tuple[int, int], centre_xy: tuple[float, float],
                 angle_deg: float, device: torch.device | str = "cpu") -> DrawnFeature:
    """The feature's weight map (:func:`feature_mask`), its ring and its neighbourhood box, on ``device``."""
    weights = feature_mask(kind, size_px, grid, centre_xy, angle_deg)
    masks = (weights, ring_mask(weights), neighbourhood_box(weights))
    return DrawnFeature(*(torch.from_numpy(m).to(device) for m in masks))


def score_cells(inputs: AnalysisInput, cells: list[FeatureCell], drawn: dict, scale: float, sign: float,
                cnr_threshold: float) -> tuple[Tensor, Tensor]:
    """Add each cell's feature to the object, acquire, reconstruct in one batch and score the cells in place.

    Parameters
    ----------
    inputs : the analysis input (its object, acquisition, reconstruction and clean f(y)).
    cells : the batch; ``drawn[(cell.point, cell.shape, cell.size_px)]`` is each one's :class:`DrawnFeature`.
    scale : the object's maximum: contrasts are fractions of it.
    sign : +1 for bright features, −1 for dark ones.
    cnr_threshold : the CNR from which a feature counts as detected.

    Returns
    -------
    (x′, f(y′)) : Tensors (B, H, W) of the batch.
    """
    parts = [drawn[cell.point, cell.shape, cell.size_px] for cell in cells]
    weights = torch.stack([p.weights for p in parts])
    ring, box = torch.stack([p.ring for p in parts]), torch.stack([p.box for p in parts])
    x, clean = inputs.x_true, inputs.clean
    amplitude = torch.tensor([sign * cell.contrast * scale for cell in cells], device=x.device)
    featured = x + amplitude[:, None, None] * weights
    with torch.no_grad():
        recon = inputs.recon(inputs.acquire(featured)).detach()
    # Feature, ring and box lie inside the boxes' union: everything is measured on that crop (grown by SSIM's half
    # window, so SSIM and PSNR are the whole image's numbers), a fraction of the work.
    crop = _box_crop(box)
    weights, ring, box = weights[crop], ring[crop], box[crop]
    recon_in, featured_in = recon[crop].double(), featured[crop].double()
    clean_in, x_in = clean[crop].double(), x[crop].double()
    shown = feature_contrast(recon_in - clean_in, weights, ring)  # the same measure for image and truth
    truth = feature_contrast(featured_in - x_in, weights, ring)
    recovery = shown / truth
    cnr = sign * shown / torch.clamp(ring_spread(recon_in, ring), min=FLAT_RING * scale)
    cnr_object = sign * truth / torch.clamp(ring_spread(featured_in, ring), min=FLAT_RING * scale)
    ssim = metrics.ssim(recon_in, featured_in, data_range=scale, mask=box)
    psnr = metrics.psnr(recon_in, featured_in, data_range=scale, mask=box)
    count = len(cells)
    ssim_without = metrics.ssim(clean_in.expand(count, -1, -1), x_in.expand(count, -1, -1), data_range=scale,
                                mask=box)
    for i, cell in enumerate(cells):
        cell.recovery, cell.cnr, cell.cnr_object = float(recovery[i]), float(cnr[i]), float(cnr_object[i])
        cell.detected = cell.cnr >= cnr_threshold
        cell.ssim, cell.psnr, cell.ssim_without = float(ssim[i]), float(psnr[i]), float(ssim_without[i])
    return featured, recon


def _box_crop(box: Tensor) -> tuple[slice, slice, slice]:
    """The rows and columns of the (B, H, W) boxes' union, grown by SSIM's half window (3 px), as an index."""
    half = (metrics.DEFAULT_WIN_SIZE["uniform"] - 1) // 2
    rows = torch.nonzero(box.any(dim=2).any(dim=0))[:, 0]
    cols = torch.nonzero(box.any(dim=1).any(dim=0))[:, 0]
    return (slice(None), slice(max(int(rows.min()) - half, 0), int(rows.max()) + half + 1),
            slice(max(int(cols.min()) - half, 0), int(cols.max()) + half + 1))
