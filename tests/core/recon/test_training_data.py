"""Offline training data: phantoms plus augmented real scans from installed packages, deterministic per seed."""
import numpy as np

from halluview.core.recon.training_data import (
    HELD_OUT_SEED,
    REAL_SCANS,
    VALIDATION_SEED,
    augment,
    describe,
    phantom_set,
    real_slices,
    training_set,
)


def test_every_real_scan_is_read_in_working_units():
    scans = real_slices()
    assert len(scans) == len(REAL_SCANS) and all(len(slices) > 0 for slices in scans)
    ct_small = scans[0][0]  # pydicom's CT_small.dcm, in HU on disk: attenuation relative to water here
    assert ct_small.shape == (128, 128) and ct_small.min() >= 0 and 1.5 < ct_small.max() < 3.5
    mr_small = scans[3][0]  # MR_small.dcm: scaled to [0, 1]
    assert mr_small.shape == (64, 64) and mr_small.min() == 0 and mr_small.max() == 1


def test_training_set_is_deterministic_and_mixes_in_real_scans():
    first = training_set(64, 24, seed0=0, real_fraction=0.25)
    assert first.shape == (24, 64, 64) and first.dtype == np.float32
    np.testing.assert_array_equal(first, training_set(64, 24, seed0=0, real_fraction=0.25))
    np.testing.assert_array_equal(first[:18], phantom_set(64, 18, seed0=0))  # the phantoms come first
    real = first[18:]
    assert not any(np.array_equal(r, p) for r in real for p in first[:18])
    assert len({r.tobytes() for r in real}) == len(real)  # each augmentation differs
    assert not np.array_equal(first, training_set(64, 24, seed0=1, real_fraction=0.25))


def test_augment_crops_resizes_and_keeps_intensities_in_range():
    rng = np.random.default_rng(0)
    image = np.linspace(0, 1, 300 * 484, dtype=np.float32).reshape(300, 484)
    outputs = [augment(image, 96, rng) for _ in range(8)]
    assert all(o.shape == (96, 96) and o.min() >= 0 and o.max() <= 1 for o in outputs)
    assert len({o.tobytes() for o in outputs}) == 8


def test_held_out_and_validation_phantoms_are_not_training_phantoms():
    train = phantom_set(32, 8, 0)
    for seed in (HELD_OUT_SEED, VALIDATION_SEED):
        other = phantom_set(32, 8, seed)
        assert not any(np.array_equal(a, b) for a in train for b in other)


def test_the_card_describes_the_real_scans():
    words = describe(128, 1200, 1 / 6)
    assert words.startswith("1000 generated phantoms") and "200 augmentations" in words
    assert all(relative.split("/")[-1] in words for _, relative, _ in REAL_SCANS)
    assert "augmentations" not in describe(128, 1200, 0.0)
