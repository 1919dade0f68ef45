"""Radiomic feature similarity (after Eulig et al.'s low-dose CT benchmark): per segment a vector of first-order
statistics and GLCM texture features of the reference and of the reconstruction, normalised, and their cosine
similarity; RFS is its mean over the segments.

Features (pyradiomics does not install here; all of them computed for every segment at once):

- first order, in image units: mean, standard deviation, skewness, excess kurtosis, 10th / 50th / 90th
  percentile (linear interpolation, numpy's default), entropy (bits) of the :data:`LEVELS`-bin histogram;
- GLCM, as ``skimage.feature.graycomatrix(..., distances=[1], angles=[0, π/4, π/2, 3π/4], symmetric=True)`` over
  the pairs of pixels that both lie in the segment, normalised per angle, then ``graycoprops``' contrast,
  dissimilarity, homogeneity, ASM and correlation averaged over the four angles. Grey levels: :data:`LEVELS` equal
  bins over the reference's [min, max] (the reconstruction is clipped to it).

Normalisation: Eulig et al.'s own normalisation could not be found in the sources available here, so each feature
is z-scored with its mean and standard deviation over the reference's segments (a feature constant over them is
only centred), the same transform for both images. Segments under :data:`MIN_PIXELS` pixels, or without a pair of
neighbouring pixels, are left out of RFS; a GLCM angle with no pair in a segment is left out of its average.
"""
from __future__ import annotations

import numpy as np

LEVELS = 32
MIN_PIXELS = 9
OFFSETS = ((0, 1), (-1, 1), (-1, 0), (-1, -1))  # skimage's angles 0, π/4, π/2, 3π/4 at distance 1: (drow, dcol)
FIRST_ORDER = ("mean", "std", "skewness", "kurtosis", "p10", "p50", "p90", "entropy")
GLCM = ("contrast", "dissimilarity", "homogeneity", "ASM", "correlation")
FEATURES = FIRST_ORDER + GLCM


def quantise(image: np.ndarray, low: float, high: float, levels: int = LEVELS) -> np.ndarray:
    """Grey levels 0 … levels − 1 of ``image`` in equal bins over [low, high] (clipped)."""
    scaled = (np.asarray(image, np.float64) - low) / max(high - low, 1e-30)
    return np.clip((scaled * levels).astype(np.int64), 0, levels - 1)


def _percentiles(values: np.ndarray, index: np.ndarray, counts: np.ndarray, qs=(10, 50, 90)) -> list[np.ndarray]:
    order = np.lexsort((values, index))
    ordered, starts = values[order], np.concatenate([[0], np.cumsum(counts)[:-1]])
    out = []
    for q in qs:
        position = starts + q / 100 * (counts - 1)
        below = np.floor(position).astype(np.int64)
        above = np.minimum(below + 1, starts + counts - 1)
        out.append(ordered[below] + (position - below) * (ordered[above] - ordered[below]))
    return out


def _first_order(values: np.ndarray, levels: np.ndarray, index: np.ndarray, n: int) -> np.ndarray:
    counts = np.bincount(index, minlength=n).astype(np.float64)
    mean = np.bincount(index, values, n) / counts
    centred = values - mean[index]
    moments = [np.bincount(index, centred ** k, n) / counts for k in (2, 3, 4)]
    std = np.sqrt(moments[0])
    safe = np.where(std > 0, std, 1.0)
    skewness = np.where(std > 0, moments[1] / safe ** 3, 0.0)
    kurtosis = np.where(std > 0, moments[2] / safe ** 4 - 3.0, 0.0)
    histogram = np.bincount(index * LEVELS + levels, minlength=n * LEVELS).reshape(n, LEVELS) / counts[:, None]
    entropy = -np.sum(np.where(histogram > 0, histogram * np.log2(np.where(histogram > 0, histogram, 1)), 0), 1)
    return np.stack([mean, std, skewness, kurtosis, *_percentiles(values, index, counts.astype(np.int64)),
                     entropy], axis=1)


def glcm(levels: np.ndarray, labels: np.ndarray, n: int, compact: np.ndarray) -> np.ndarray:
    """Symmetric, unnormalised co-occurrence counts per segment and angle: (n, LEVELS, LEVELS, 4).
    ``compact`` maps each pixel to its segment's index 0 … n − 1 (−1: in none)."""
    height, width = labels.shape
    counts = np.zeros((n, LEVELS, LEVELS, len(OFFSETS)))
    for angle, (drow, dcol) in enumerate(OFFSETS):
        rows = slice(max(0, -drow), height - max(0, drow))
        cols = slice(max(0, -dcol), width - max(0, dcol))
        rows2 = slice(rows.start + drow, rows.stop + drow)
        cols2 = slice(cols.start + dcol, cols.stop + dcol)
        first, second = compact[rows, cols], compact[rows2, cols2]
        same = (first == second) & (first >= 0)
        a, b, s = levels[rows, cols][same], levels[rows2, cols2][same], first[same]
        flat = np.bincount((s * LEVELS + a) * LEVELS + b, minlength=n * LEVELS * LEVELS)
        matrix = flat.reshape(n, LEVELS, LEVELS)
        counts[..., angle] = matrix + matrix.transpose(0, 2, 1)
    return counts


def _glcm_features(counts: np.ndarray) -> np.ndarray:
    """graycoprops' contrast, dissimilarity, homogeneity, ASM, correlation, averaged over the angles that have a
    pair of pixels in the segment: (n, 5)."""
    totals = counts.sum(axis=(1, 2), keepdims=True)
    p = counts / np.where(totals > 0, totals, 1.0)
    i, j = np.meshgrid(np.arange(LEVELS), np.arange(LEVELS), indexing="ij")
    i, j = i[None, :, :, None], j[None, :, :, None]
    contrast = np.sum(p * (i - j) ** 2, axis=(1, 2))
    dissimilarity = np.sum(p * np.abs(i - j), axis=(1, 2))
    homogeneity = np.sum(p / (1.0 + (i - j) ** 2), axis=(1, 2))
    asm = np.sum(p ** 2, axis=(1, 2))
    mean_i, mean_j = np.sum(p * i, axis=(1, 2)), np.sum(p * j, axis=(1, 2))
    std_i = np.sqrt(np.sum(p * (i - mean_i[:, None, None]) ** 2, axis=(1, 2)))
    std_j = np.sqrt(np.sum(p * (j - mean_j[:, None, None]) ** 2, axis=(1, 2)))
    cov = np.sum(p * (i - mean_i[:, None, None]) * (j - mean_j[:, None, None]), axis=(1, 2))
    flat = (std_i < 1e-15) | (std_j < 1e-15)  # graycoprops: correlation 1 for a constant segment
    correlation = np.where(flat, 1.0, cov / np.where(flat, 1.0, std_i * std_j))
    features = np.stack([contrast, dissimilarity, homogeneity, asm, correlation], axis=-1)  # (n, angles, 5)
    has_pairs = totals[:, 0, 0, :, None] > 0  # an angle with no pair in the segment has no texture: left out
    with np.errstate(invalid="ignore", divide="ignore"):  # a segment with no pair at any angle: NaN
        return np.sum(np.where(has_pairs, features, 0.0), axis=1) / np.sum(has_pairs, axis=1)


def segment_features(image: np.ndarray, labels: np.ndarray, ids: np.ndarray, low: float, high: float) -> np.ndarray:
    """The :data:`FEATURES` of every segment in ``ids``: (len(ids), len(FEATURES))."""
    compact = np.full(labels.shape, -1, dtype=np.int64)
    inside = np.isin(labels, ids)
    compact[inside] = np.searchsorted(ids, labels[inside])
    levels = quantise(image, low, high)
    index = compact[inside]
    first = _first_order(np.asarray(image, np.float64)[inside], levels[inside], index, len(ids))
    return np.concatenate([first, _glcm_features(glcm(levels, labels, len(ids), compact))], axis=1)


def feature_similarity(x: np.ndarray, ref: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(segment ids, cosine similarity of each segment's normalised feature vectors) for segments of at least
    :data:`MIN_PIXELS` pixels; empty arrays when there are none."""
    ids, counts = np.unique(labels[labels != 0], return_counts=True)
    ids = ids[counts >= MIN_PIXELS]
    if not len(ids):
        return ids, np.zeros(0)
    low, high = float(np.min(ref)), float(np.max(ref))
    reference, reconstruction = (segment_features(image, labels, ids, low, high) for image in (ref, x))
    usable = np.all(np.isfinite(reference), axis=1)  # segments with no pair of neighbouring pixels: no texture
    ids, reference, reconstruction = ids[usable], reference[usable], reconstruction[usable]
    if not len(ids):
        return ids, np.zeros(0)
    centre, spread = reference.mean(axis=0), reference.std(axis=0)
    spread = np.where(spread > 0, spread, 1.0)
    a, b = (reference - centre) / spread, (reconstruction - centre) / spread
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    both_zero = (np.linalg.norm(a, axis=1) == 0) & (np.linalg.norm(b, axis=1) == 0)
    cosine = np.where(both_zero, 1.0, np.sum(a * b, axis=1) / np.where(norms > 0, norms, 1.0))
    return ids, cosine
