"""The one diverging colour table and the running difference scale (Qt-free)."""
import numpy as np
import pytest

from halluview.core.display import (
    N_DIVERGING,
    RunningScale,
    diverging_index,
    diverging_lut,
    diverging_rgb,
    robust_limit,
)


def test_the_table_is_blue_grey_red_and_symmetric_about_zero():
    lut = diverging_lut()
    assert lut.shape == (N_DIVERGING, 3) and lut.dtype == np.uint8
    middle = (N_DIVERGING - 1) // 2
    assert tuple(lut[middle]) == (128, 128, 128)  # 0: neutral grey
    assert tuple(lut[0]) == (40, 110, 255) and tuple(lut[-1]) == (255, 60, 40)  # −limit blue, +limit red
    # equally far from grey on both sides: the grey component of each side moves by the same fraction
    for k in (1, 40, 127):
        blue_side, red_side = lut[middle - k].astype(int), lut[middle + k].astype(int)
        fraction_blue = (128 - blue_side[0]) / (128 - 40)
        fraction_red = (red_side[0] - 128) / (255 - 128)
        assert fraction_blue == pytest.approx(fraction_red, abs=0.01)


def test_values_map_to_entries_as_pyqtgraph_maps_levels():
    # floor((v + L) · N / 2L), clipped: 0 → the middle, ±L and beyond → the ends (hand-computed for N = 255)
    values = np.array([-2.0, -1.0, -0.5, 0.0, 0.2, 0.999, 1.0, 3.0, np.nan])
    assert diverging_index(values, 1.0).tolist() == [0, 0, 63, 127, 153, 254, 254, 254, 127]
    rgb = diverging_rgb(values.reshape(3, 3), 1.0)
    assert rgb.shape == (3, 3, 3) and tuple(rgb[1, 0]) == (128, 128, 128)


def test_robust_limit_ignores_a_hot_pixel():
    difference = np.full((64, 64), 0.01)
    difference[5, 5] = 100.0
    assert robust_limit(difference) == pytest.approx(0.01)
    sparse = np.zeros((64, 64))
    sparse[10, 10:13] = [0.0, -0.3, 0.2]  # a change in 2 pixels only: its largest |Δ|, not 0
    assert robust_limit(sparse) == pytest.approx(0.3)
    assert robust_limit(np.zeros((4, 4))) > 0


def _growing_sequence(steps=30, seed=0):
    rng = np.random.default_rng(seed)
    pattern = rng.standard_normal((64, 64))
    return [pattern * 1e-4 * (1.3 ** k) for k in range(steps)]


def test_limit_follows_a_growing_change_without_shrinking():
    scale = RunningScale()
    scale.reset()
    limits = [scale.update(d) for d in _growing_sequence()]
    assert all(b >= a for a, b in zip(limits, limits[1:]))
    final = robust_limit(_growing_sequence()[-1])
    assert final / 2 <= limits[-1] <= final * 2  # ends near the final change's own scale
    assert scale.final(_growing_sequence()[-1]) == pytest.approx(final)


def test_a_tiny_first_step_does_not_fix_the_scale():
    scale = RunningScale()
    first = scale.update(np.full((32, 32), 1e-6))
    for _ in range(10):
        last = scale.update(np.full((32, 32), 0.5) * np.sign(np.arange(32) - 15.5))
    assert first < 1e-5 and last >= 0.25  # the panel is not saturated by a scale from the first step


def test_one_hot_pixel_does_not_blow_the_scale_up():
    scale = RunningScale()
    for k in range(5):
        difference = np.full((64, 64), 0.01 * (k + 1))
        difference[3, 3] = 1000.0
        limit = scale.update(difference)
    assert limit < 0.2


def test_a_noisy_sequence_never_shrinks_the_limit():
    rng = np.random.default_rng(1)
    scale = RunningScale()
    limits = [scale.update(rng.standard_normal((48, 48)) * rng.uniform(0.2, 1.0)) for _ in range(40)]
    assert all(b >= a for a, b in zip(limits, limits[1:]))
    assert len(set(limits)) <= 5  # widened in a few steps, not at every frame


def test_one_noisy_spike_is_smoothed():
    scale = RunningScale(smoothing=0.5, headroom=1.0)
    scale.update(np.full((8, 8), 0.1))
    assert scale.update(np.full((8, 8), 1.0)) == pytest.approx(0.55)  # halfway to the spike, not all of it


def test_reset_starts_a_new_run():
    scale = RunningScale()
    scale.update(np.full((8, 8), 5.0))
    scale.reset()
    assert scale.limit is None
    assert scale.update(np.full((8, 8), 0.01)) < 0.1


@pytest.mark.parametrize("kwargs", [{"smoothing": 0.0}, {"smoothing": 1.5}, {"headroom": 0.5}])
def test_bad_parameters_are_refused(kwargs):
    with pytest.raises(ValueError):
        RunningScale(**kwargs)
