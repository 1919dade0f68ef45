"""Offline training data: phantoms plus real anatomy split by volume, patches of real scale, deterministic per seed."""
from pathlib import Path

import numpy as np
import pytest

from halluview.core.recon.real_anatomy import HELD_OUT, TRAINING, held_out_slices, volume_slices
from halluview.core.recon.training_data import (
    HELD_OUT_SEED,
    SCALE_RANGE,
    VALIDATION_SEED,
    describe,
    phantom_set,
    real_patch,
    training_set,
)


def _installed(volumes):
    return [v for v in volumes if v.path is not None]


def test_no_volume_is_both_trained_on_and_held_out():
    for family in ("mri", "ct"):
        trained = {Path(v.relative).name.split("_")[0] for v in TRAINING[family]}
        held = {Path(v.relative).name.split("_")[0] for v in HELD_OUT[family]}
        assert not trained & held  # 693_J2KI / 693_UNCR are one volume: the prefix names the series
        assert len(HELD_OUT[family]) >= 2  # at least two other volumes judge each model


def test_held_out_slices_keep_their_own_size_and_working_units():
    import pydicom
    from pydicom.data import get_testdata_file

    slices = dict(held_out_slices("ct"))
    head = slices["693_J2KI.dcm[0]"]
    assert head.shape == pydicom.dcmread(get_testdata_file("693_J2KI.dcm")).pixel_array.shape == (512, 512)
    assert head.min() >= 0 and 1.5 < head.max() < 4  # HU → attenuation relative to water (bone > 1)
    mr = dict(held_out_slices("mri"))
    assert mr["example4d.nii.gz[12]"].shape == (96, 128)  # non-square, not stretched
    assert all(0 <= image.min() and image.max() <= 1 for image in mr.values())


def test_training_set_is_deterministic_and_mixes_in_real_patches():
    if not _installed(TRAINING["mri"]):
        pytest.skip("the MNI152 template needs nilearn (pip install 'halluview[train]')")
    first = training_set(64, 24, seed0=0, real_fraction=0.25, modality="mri")
    assert first.shape == (24, 64, 64) and first.dtype == np.float32
    np.testing.assert_array_equal(first, training_set(64, 24, seed0=0, real_fraction=0.25, modality="mri"))
    np.testing.assert_array_equal(first[:18], phantom_set(64, 18, seed0=0))  # the phantoms come first
    real = first[18:]
    assert len({r.tobytes() for r in real}) == len(real)
    assert all((r > 0.05).mean() > 0.1 for r in real)  # no empty background patch


def test_a_real_patch_keeps_the_pixel_scale_within_the_stated_range():
    rng = np.random.default_rng(0)
    image = np.zeros((76, 60), np.float32)
    image[28:48, 20:40] = 1.0  # a 20-pixel square; rescaled by ≤ 1.6 the slice still fits the 128² patch
    sides = []
    for _ in range(10):
        patch = real_patch(image, 128, rng, mr=False)
        assert patch.shape == (128, 128)
        sides.append(np.sqrt((patch > 0.5).sum()))
    low, high = SCALE_RANGE
    assert all(low * 20 - 2 <= side <= high * 20 + 2 for side in sides)  # padded, not stretched to the patch
    assert max(sides) - min(sides) > 3  # the pixel size does vary


def test_held_out_and_validation_phantoms_are_not_training_phantoms():
    train = phantom_set(32, 8, 0)
    for seed in (HELD_OUT_SEED, VALIDATION_SEED):
        other = phantom_set(32, 8, seed)
        assert not any(np.array_equal(a, b) for a in train for b in other)


def test_the_card_names_the_real_training_volumes():
    words = describe(128, 1200, 0.5, "mri")
    assert words.startswith("600 generated phantoms") and "600 128×128 patches of real anatomy" in words
    assert "mni_icbm152_t1" in words
    assert "patches" not in describe(128, 1200, 0.0)
    assert "explicit_VR-UN.dcm" in describe(128, 96, 0.5, "ct")


def test_a_missing_package_is_named_with_its_extra():
    volume = TRAINING["mri"][0]
    if volume.path is None:
        with pytest.raises(FileNotFoundError, match=r"halluview\[train\]"):
            volume_slices(volume)
