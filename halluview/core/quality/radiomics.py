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
GLCM_CHUNK = 128  # segments whose co-occurrence matrices are made at once (128 × 4 angles × 32² × 8 B = 4 MB)
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


def glcm(levels: np.ndarray, n: int, compact: np.ndarray) -> np.ndarray:
    """Symmetric, unnormalised co-occurrence counts per segment and angle, the (i, j) plane flattened:
    (n, angles, LEVELS²). ``compact`` maps each pixel to its segment's index 0 … n − 1 (−1: in none)."""
    height, width = compact.shape
    counts = np.zeros((n, len(OFFSETS), LEVELS * LEVELS))
    for angle, (drow, dcol) in enumerate(OFFSETS):
        rows = slice(max(0, -drow), height - max(0, drow))
        cols = slice(max(0, -dcol), width - max(0, dcol))
        rows2 = slice(rows.start + drow, rows.stop + drow)
        cols2 = slice(cols.start + dcol, cols.stop + dcol)
        first, second = compact[rows, cols], compact[rows2, cols2]
        same = (first == second) & (first >= 0)
        a, b, s = levels[rows, cols][same], levels[rows2, cols2][same], first[same]
        matrix = np.bincount((s * LEVELS + a) * LEVELS + b, minlength=n * LEVELS * LEVELS).reshape(n, LEVELS, LEVELS)
        counts[:, angle] = (matrix + matrix.transpose(0, 2, 1)).reshape(n, -1)
    return counts


def _glcm_features(counts: np.ndarray) -> np.ndarray:
    """graycoprops' contrast, dissimilarity, homogeneity, ASM, correlation, averaged over the angles that have a
    pair of pixels in the segment: (n, 5). Sums run over the flattened (i, j) plane in numpy's own loops, not
    BLAS: a BLAS product sums in an order that depends on its thread count, and a rerun must match bit for bit."""
    n, angles = counts.shape[:2]
    totals = counts.sum(axis=2)  # (n, angles)
    p = (counts / np.where(totals > 0, totals, 1.0)[..., None]).reshape(n * angles, -1)
    i, j = (grid.ravel().astype(np.float64) for grid in np.meshgrid(np.arange(LEVELS), np.arange(LEVELS),
                                                                     indexing="ij"))
    weights = np.stack([(i - j) ** 2, np.abs(i - j), 1.0 / (1.0 + (i - j) ** 2), i, j, i * i, j * j, i * j])
    sums = np.einsum("nk,wk->nw", p, weights).reshape(n, angles, -1).T  # rows by rows, both contiguous
    contrast, dissimilarity, homogeneity, mean_i, mean_j, ii, jj, ij = sums
    asm = np.einsum("nk,nk->n", p, p).reshape(n, angles).T
    var_i, var_j = np.maximum(ii - mean_i ** 2, 0.0), np.maximum(jj - mean_j ** 2, 0.0)
    flat = (var_i < 1e-15) | (var_j < 1e-15)  # graycoprops: correlation 1 for a constant segment
    correlation = np.where(flat, 1.0, (ij - mean_i * mean_j) / np.sqrt(np.where(flat, 1.0, var_i * var_j)))
    features = np.stack([contrast, dissimilarity, homogeneity, asm, correlation], axis=-1).transpose(1, 0, 2)
    has_pairs = (totals > 0)[..., None]  # an angle with no pair in the segment has no texture: left out
    with np.errstate(invalid="ignore", divide="ignore"):  # a segment with no pair at any angle: NaN
        return np.sum(np.where(has_pairs, features, 0.0), axis=1) / np.sum(has_pairs, axis=1)


class RadiomicBasis:
    """The segments of one label map, ready to give any image's features on a fixed grey-level range [low, high]
    (one basis serves a reference and every reconstruction compared with it)."""

    def __init__(self, labels: np.ndarray, low: float, high: float):
        ids, counts = np.unique(labels[labels != 0], return_counts=True)
        self.ids, self.labels, self.low, self.high = ids[counts >= MIN_PIXELS], labels, low, high
        self.compact = np.full(labels.shape, -1, dtype=np.int64)
        self.inside = np.isin(labels, self.ids)
        self.compact[self.inside] = np.searchsorted(self.ids, labels[self.inside])

    def features(self, image: np.ndarray) -> np.ndarray:
        """The :data:`FEATURES` of every segment in :attr:`ids`: (len(ids), len(FEATURES)); NaN rows for segments
        without a pair of neighbouring pixels."""
        n = len(self.ids)
        if not n:
            return np.zeros((0, len(FEATURES)))
        levels = quantise(image, self.low, self.high)
        first = _first_order(np.asarray(image, np.float64)[self.inside], levels[self.inside],
                             self.compact[self.inside], n)
        texture = []
        for start in range(0, n, GLCM_CHUNK):  # a few thousand segments' co-occurrence matrices at once is 100+ MB
            size = min(GLCM_CHUNK, n - start)
            part = np.where((self.compact >= start) & (self.compact < start + size), self.compact - start, -1)
            texture.append(_glcm_features(glcm(levels, size, part)))
        return np.concatenate([first, np.concatenate(texture)], axis=1)


def cosine_similarity(reference: np.ndarray, reconstruction: np.ndarray) -> np.ndarray:
    """Per segment (row), the cosine of the z-scored feature vectors (normalised over the reference's rows);
    rows with a NaN feature are NaN."""
    usable = np.all(np.isfinite(reference), axis=1)
    cosine = np.full(len(reference), np.nan)
    if not usable.any():
        return cosine
    centre, spread = reference[usable].mean(axis=0), reference[usable].std(axis=0)
    spread = np.where(spread > 0, spread, 1.0)
    a, b = (reference[usable] - centre) / spread, (reconstruction[usable] - centre) / spread
    norm_a, norm_b = np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)
    both_zero = (norm_a == 0) & (norm_b == 0)
    products = norm_a * norm_b
    cosine[usable] = np.where(both_zero, 1.0, np.sum(a * b, axis=1) / np.where(products > 0, products, 1.0))
    return cosine


def feature_similarity(x: np.ndarray, ref: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(segment ids, cosine similarity of each segment's normalised feature vectors) for the segments with
    features (grey levels over the reference's [min, max]); empty arrays when there are none."""
    basis = RadiomicBasis(labels, float(np.min(ref)), float(np.max(ref)))
    cosine = cosine_similarity(basis.features(ref), basis.features(x))
    keep = np.isfinite(cosine)
    return basis.ids[keep], cosine[keep]
