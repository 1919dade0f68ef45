"""Radiomic features against skimage's graycomatrix / graycoprops and numpy / scipy statistics, segment by
segment, and RFS on constructed cases."""
import numpy as np
import pytest
from scipy import stats
from skimage.feature import graycomatrix, graycoprops

from halluview.core.quality import auto_segments
from halluview.core.quality.radiomics import (
    FEATURES,
    GLCM,
    LEVELS,
    RadiomicBasis,
    cosine_similarity,
    feature_similarity,
    quantise,
)

ANGLES = [0, np.pi / 4, np.pi / 2, 3 * np.pi / 4]


def _reference_features(image, mask, low, high):
    values = image[mask]
    levels = quantise(image, low, high)
    histogram = np.bincount(levels[mask], minlength=LEVELS) / mask.sum()
    first = [values.mean(), values.std(), stats.skew(values), stats.kurtosis(values),
             *np.percentile(values, [10, 50, 90]), stats.entropy(histogram[histogram > 0], base=2)]
    shifted = np.where(mask, levels + 1, 0).astype(np.uint8)  # level 0: outside; its pairs are dropped
    counts = graycomatrix(shifted, [1], ANGLES, levels=LEVELS + 1, symmetric=True)[1:, 1:].astype(float)
    has_pairs = counts.sum(axis=(0, 1))[0] > 0  # angles without a pair in the segment are left out
    glcm = counts[..., has_pairs] / counts[..., has_pairs].sum(axis=(0, 1), keepdims=True)
    return np.array(first + [graycoprops(glcm, name).mean() for name in GLCM])


@pytest.mark.parametrize("chunk", [128, 7])  # segments' co-occurrences made 7 at a time: the same features
def test_features_match_skimage_and_scipy(images, chunk, monkeypatch):
    from halluview.core.quality import radiomics

    monkeypatch.setattr(radiomics, "GLCM_CHUNK", chunk)
    ref, noisy = images
    labels = auto_segments(ref, float(ref.max())).labels
    low, high = float(ref.min()), float(ref.max())
    basis = RadiomicBasis(labels, low, high)
    ours = basis.features(noisy)
    assert len(basis.ids) > 20
    for row, label in list(zip(ours, basis.ids))[::4 if chunk > 7 else 3]:
        expected = _reference_features(noisy, labels == label, low, high)
        np.testing.assert_allclose(row, expected, rtol=1e-9, atol=1e-12, err_msg=str(dict(zip(FEATURES, row))))


def test_rfs_is_one_for_identical_images_and_drops_for_texture_change(images):
    ref, noisy = images
    labels = auto_segments(ref, float(ref.max())).labels
    _, same = feature_similarity(ref, ref, labels)
    np.testing.assert_allclose(same, 1.0, atol=1e-12)
    _, changed = feature_similarity(noisy, ref, labels)
    assert changed.mean() < 0.9


def test_tiny_segments_are_left_out():
    labels = np.zeros((16, 16), int)
    labels[:4, :4], labels[10, 10] = 1, 2
    ids, cosine = feature_similarity(np.ones((16, 16)), np.ones((16, 16)), labels)
    assert list(ids) == [1] and cosine[0] == pytest.approx(1.0)


def test_rfs_normalises_both_images_by_the_reference_segments(images):
    ref, noisy = images
    basis = RadiomicBasis(auto_segments(ref, float(ref.max())).labels, float(ref.min()), float(ref.max()))
    reference, reconstruction = basis.features(ref), basis.features(noisy + 0.1 * ref.max())
    usable = np.all(np.isfinite(reference), axis=1)
    centre, spread = reference[usable].mean(0), reference[usable].std(0)
    for row in np.flatnonzero(usable)[::3]:
        a, b = (reference[row] - centre) / spread, (reconstruction[row] - centre) / spread
        expected = a @ b / (np.linalg.norm(a) * np.linalg.norm(b))
        assert cosine_similarity(reference, reconstruction)[row] == pytest.approx(expected, rel=1e-12)


def test_the_features_do_not_depend_on_the_blas_thread_count():
    """A rerun must give the same numbers bit for bit, and the BLAS thread count is not recorded (OMP_NUM_THREADS
    differs between a test worker and a shell): with OpenBLAS, a matrix product over the co-occurrence planes summed
    in another order on two threads than on one (RFS off by 2e-15)."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    image = np.random.default_rng(3).random((64, 64))
    labels = (np.arange(64 * 64) * 59 // (64 * 64)).reshape(64, 64) + 1  # 59 segments: 236 rows, not a multiple
    basis = RadiomicBasis(labels, 0.0, 1.0)                                # of OpenBLAS's tile
    by_threads = []
    for threads in (1, 2):
        with threadpoolctl.threadpool_limits(limits=threads, user_api="blas"):
            by_threads.append(basis.features(image))
    np.testing.assert_array_equal(by_threads[0], by_threads[1])
