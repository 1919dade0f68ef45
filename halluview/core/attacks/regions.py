"""Regions of interest as serialisable shapes → boolean masks, and the lesion targets drawn into them.

A region config is a small dict so that every run records it: {"kind": "rect", "xywh": [x, y, w, h]},
{"kind": "ellipse", "xywh": [...]}, {"kind": "polygon", "points": [[x, y], ...]}, {"kind": "rle", "shape": [H, W],
"runs": [...]} (brush strokes) or {"kind": "file", "path": "mask.npy"}. Coordinates are pixels, x = column, y = row.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np


def _rect(shape: tuple[int, int], region: dict) -> np.ndarray:
    x, y, w, h = (int(round(v)) for v in region["xywh"])
    mask = np.zeros(shape, bool)
    mask[max(y, 0):max(y + h, 0), max(x, 0):max(x + w, 0)] = True
    return mask


def _ellipse(shape: tuple[int, int], region: dict) -> np.ndarray:
    from skimage.draw import ellipse as draw_ellipse  # scikit-image and scipy load on first use (fast start)

    x, y, w, h = region["xywh"]
    mask = np.zeros(shape, bool)
    rows, cols = draw_ellipse(y + h / 2 - 0.5, x + w / 2 - 0.5, h / 2, w / 2, shape=shape)
    mask[rows, cols] = True
    return mask


def _polygon(shape: tuple[int, int], region: dict) -> np.ndarray:
    from skimage.draw import polygon as draw_polygon

    points = np.asarray(region["points"], float)
    mask = np.zeros(shape, bool)
    rows, cols = draw_polygon(points[:, 1], points[:, 0], shape=shape)
    mask[rows, cols] = True
    return mask


def _rle(shape: tuple[int, int], region: dict) -> np.ndarray:
    if tuple(region["shape"]) != tuple(shape):
        raise ValueError(f"the brush region was drawn on a {region['shape']} image, not {list(shape)}")
    return rle_decode(region["runs"], shape)


def _file(shape: tuple[int, int], region: dict) -> np.ndarray:
    path = Path(region["path"])
    try:
        mask = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise ValueError(f"{path}: cannot read the region mask ({err})") from None
    mask = np.squeeze(mask)
    if mask.shape != tuple(shape):
        raise ValueError(f"{path}: the region mask is {mask.shape}, the image is {tuple(shape)}")
    return mask.astype(bool)


REGION_KINDS = {"rect": _rect, "ellipse": _ellipse, "polygon": _polygon, "rle": _rle, "file": _file}


def region_mask(region: dict | None, shape: tuple[int, int]) -> np.ndarray | None:
    """Boolean (H, W) mask of a region config; None for no region. Raises ValueError for empty regions."""
    if region is None:
        return None
    kind = region.get("kind")
    if kind not in REGION_KINDS:
        raise ValueError(f"unknown region kind {kind!r}; choose one of {sorted(REGION_KINDS)}")
    mask = REGION_KINDS[kind](tuple(shape), region)
    if not mask.any():
        raise ValueError(f"the region {region} covers no pixel of the {shape[0]}×{shape[1]} image")
    return mask


def region_on_grid(region: dict | None, scan_shape: tuple[int, int],
                   grid_shape: tuple[int, int]) -> np.ndarray | None:
    """The region, drawn in the scan's own pixel coordinates (``scan_shape``), as a mask on the working grid
    (``grid_shape``, when the user chose a working size): a working pixel belongs to it when at least half of its
    area does (never fewer than the one pixel that overlaps it most)."""
    mask = region_mask(region, scan_shape)
    if mask is None or tuple(grid_shape) == tuple(scan_shape):
        return mask
    from skimage.transform import resize

    share = resize(mask.astype(np.float64), grid_shape, order=1, anti_aliasing=True)
    grid = share >= 0.5
    if not grid.any():
        grid = share >= share.max()
    return grid


def rle_encode(mask: np.ndarray) -> list[int]:
    """Run lengths of a boolean mask in row-major order, starting with a (possibly empty) run of False."""
    flat = mask.ravel().astype(np.int8)
    edges = np.concatenate([[0], np.flatnonzero(np.diff(flat)) + 1, [flat.size]])
    runs = np.diff(edges).tolist()
    return [0] + runs if flat.size and flat[0] else runs


def rle_decode(runs: list[int], shape: tuple[int, int]) -> np.ndarray:
    values = np.arange(len(runs)) % 2 == 1
    flat = np.repeat(values, runs)
    if flat.size != shape[0] * shape[1]:
        raise ValueError(f"the brush region's run lengths add up to {flat.size}, not {shape[0] * shape[1]} pixels")
    return flat.reshape(shape)


def disc_lesion(image: np.ndarray, center_xy: tuple[float, float], radius_px: float,
                intensity: float) -> tuple[np.ndarray, np.ndarray]:
    """The image with a soft-edged disc of ``intensity`` painted in, and the disc's mask.

    Returns (target, mask): the target an insertion attack drives the reconstruction towards.
    """
    rows, cols = np.mgrid[:image.shape[0], :image.shape[1]]
    distance = np.hypot(cols - center_xy[0], rows - center_xy[1])
    weight = np.clip(radius_px + 0.5 - distance, 0, 1)
    return _blend(image, weight, intensity), weight > 0


def line_lesion(image: np.ndarray, start_xy: tuple[float, float], end_xy: tuple[float, float],
                intensity: float, width_px: float = 1.5) -> tuple[np.ndarray, np.ndarray]:
    """The image with an anti-aliased line (a tear, a fracture) of ``intensity``, and its mask."""
    from scipy.ndimage import gaussian_filter
    from skimage.draw import line_aa

    canvas = np.zeros(image.shape, np.float32)
    rows, cols, values = line_aa(int(round(start_xy[1])), int(round(start_xy[0])),
                                 int(round(end_xy[1])), int(round(end_xy[0])))
    keep = (rows >= 0) & (rows < image.shape[0]) & (cols >= 0) & (cols < image.shape[1])
    canvas[rows[keep], cols[keep]] = values[keep]
    weight = np.clip(gaussian_filter(canvas, max(width_px / 2 - 0.5, 0.3)) * width_px, 0, 1)
    return _blend(image, weight, intensity), weight > 0.05


def erase_target(image: np.ndarray, mask: np.ndarray, sigma_px: float = 4.0) -> np.ndarray:
    """The image with the masked area filled in from its surroundings (normalised Gaussian convolution).

    The target of a removal attack: the feature inside ``mask`` replaced by what surrounds it.
    """
    from scipy.ndimage import gaussian_filter

    outside = (~mask).astype(np.float32)
    smoothed = gaussian_filter(image * outside, sigma_px)
    support = gaussian_filter(outside, sigma_px)
    fill = smoothed / np.maximum(support, 1e-6)
    for _ in range(4):  # large holes: widen the kernel where the support is too thin
        thin = mask & (support < 1e-3)
        if not thin.any():
            break
        sigma_px *= 2
        fill = np.where(thin, gaussian_filter(image * outside, sigma_px) /
                        np.maximum(gaussian_filter(outside, sigma_px), 1e-6), fill)
        support = np.maximum(support, gaussian_filter(outside, sigma_px))
    return np.where(mask, fill, image).astype(np.float32)


def _blend(image: np.ndarray, weight: np.ndarray, intensity: float) -> np.ndarray:
    return (image * (1 - weight) + intensity * weight).astype(np.float32)
