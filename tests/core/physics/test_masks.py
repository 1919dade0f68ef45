"""Column masks against fastMRI's own ``fastmri.data.subsample`` (0.3.0): same names, same columns per seed."""
import numpy as np
import pytest
from fastmri_reference import subsample

from halluview.core.physics.masks import MASK_CHOICES, MASKS, make_mask, sample_mask
from halluview.core.physics.mri import build_mri_operator

FASTMRI_NAMES = ("random", "equispaced", "equispaced_fraction", "magic", "magic_fraction")
SEEDS = (0, 1, 42, 2024)
COLUMNS = (320, 368, 321, 367, 37)
SETTINGS = [(4, 0.08), (8, 0.04), (4, 0.04), (8, 0.08)]


def fastmri_mask(kind, num_cols, center_fraction, acceleration, seed, offset=None):
    """fastMRI's mask for k-space of shape (1, 640, num_cols, 2), and its num_low_frequencies."""
    mask_func = subsample.create_mask_for_mask_type(kind, [center_fraction], [acceleration])
    mask, num_low = mask_func((1, 640, num_cols, 2), offset=offset, seed=seed)
    assert mask.shape == (1, 1, num_cols, 1)
    return mask.numpy().reshape(-1).astype(bool), num_low


def test_names_are_fastmris():
    assert tuple(MASKS) == FASTMRI_NAMES and MASK_CHOICES == (*FASTMRI_NAMES, "full")
    for kind in FASTMRI_NAMES:
        subsample.create_mask_for_mask_type(kind, [0.08], [4])  # fastMRI knows every name


@pytest.mark.parametrize("kind", FASTMRI_NAMES)
@pytest.mark.parametrize("num_cols", COLUMNS)
@pytest.mark.parametrize(("acceleration", "center_fraction"), SETTINGS)
def test_masks_equal_fastmris_for_the_same_seed(kind, num_cols, acceleration, center_fraction):
    for seed in SEEDS:
        expected, expected_low = fastmri_mask(kind, num_cols, center_fraction, acceleration, seed)
        ours = sample_mask(kind, num_cols, center_fraction, acceleration, seed)
        assert ours.columns.dtype == bool and ours.columns.shape == (num_cols,)
        np.testing.assert_array_equal(ours.columns, expected, err_msg=f"{kind} seed {seed}")
        assert ours.num_low_frequencies == expected_low


@pytest.mark.parametrize("kind", ["equispaced", "equispaced_fraction", "magic", "magic_fraction"])
@pytest.mark.parametrize("num_cols", [320, 367])
def test_given_offsets_equal_fastmris(kind, num_cols):
    for offset in range(8):
        expected, _ = fastmri_mask(kind, num_cols, 0.08, 4, seed=3, offset=offset)
        np.testing.assert_array_equal(make_mask(kind, num_cols, 0.08, 4, seed=3, offset=offset), expected,
                                      err_msg=f"{kind} offset {offset}")


@pytest.mark.parametrize("kind", ["random", "equispaced_fraction", "magic_fraction"])
def test_fractional_accelerations_and_file_name_seeds_equal_fastmris(kind):
    file_seed = tuple(map(ord, "file1000001.h5"))  # fastMRI's data transforms seed each volume by its file name
    for acceleration, seed in [(3.5, 7), (6, file_seed), (4, file_seed)]:
        expected, _ = fastmri_mask(kind, 368, 0.08, acceleration, seed)
        np.testing.assert_array_equal(make_mask(kind, 368, 0.08, acceleration, seed), expected)


def test_seeded_at_construction_as_fastmri_loaders_use_it():
    """VarNetDataTransform(use_seed=False) calls a MaskFunc(seed=s) without a seed: its first draw is ours."""
    for kind, func in [("random", subsample.RandomMaskFunc), ("magic", subsample.MagicMaskFunc)]:
        mask, _ = func([0.08], [4], seed=11)((1, 640, 320, 2))
        np.testing.assert_array_equal(make_mask(kind, 320, 0.08, 4, seed=11), mask.numpy().reshape(-1) > 0)


def test_equispaced_is_every_rth_column_not_the_fraction_mask():
    """fastMRI's `equispaced` (EquiSpacedMaskFunc) keeps 99 of 320 columns at 4x / 0.08, the fraction mask 80."""
    assert make_mask("equispaced", 320, 0.08, 4, seed=0).sum() == fastmri_mask("equispaced", 320, 0.08, 4, 0)[0].sum()
    counts = {kind: int(make_mask(kind, 320, 0.08, 4, seed=0).sum()) for kind in ("equispaced", "equispaced_fraction")}
    assert counts == {"equispaced": 99, "equispaced_fraction": 80}


def test_operator_carries_fastmris_num_low_frequencies():
    op = build_mri_operator((32, 368), acceleration=4, center_fraction=0.08, mask_type="magic_fraction", seed=5)
    expected, expected_low = fastmri_mask("magic_fraction", 368, 0.08, 4, 5)
    np.testing.assert_array_equal(op.mask.reshape(-1).numpy(), expected)
    assert op.num_low_frequencies == expected_low == 29
    assert build_mri_operator((8, 8), mask_type="full").num_low_frequencies is None


@pytest.mark.parametrize(("arguments", "words"), [
    (("equispaced", 320, 0.08, 3.5), "integer acceleration"),
    (("magic", 320, 0.08, 2.5), "integer acceleration"),
    (("equispaced_fraction", 320, 0.3, 4), "centre of 96 columns"),
    (("magic_fraction", 320, 0.5, 4), "centre of 80 columns"),
    (("random", 10, 1.0, 4), "centre fraction must be in"),
    (("random", 320, 0.08, 0.5), "acceleration must be at least 1"),
    (("gaussian", 320, 0.08, 4), "unknown mask type 'gaussian'; choose one of random, equispaced"),
])
def test_settings_fastmri_cannot_sample_are_refused_in_words(arguments, words):
    with pytest.raises(ValueError, match=words):
        make_mask(*arguments)


def test_full_samples_everything():
    full = sample_mask("full", 17)
    assert full.columns.all() and full.columns.shape == (17,) and full.num_low_frequencies is None


@pytest.mark.parametrize("kind", FASTMRI_NAMES)
def test_centre_size_rounds_halves_to_even_as_fastmri(kind):
    for num_cols in (36, 100):  # N * 0.125 = 4.5 and 12.5: Python's round gives 4 and 12
        expected, expected_low = fastmri_mask(kind, num_cols, 0.125, 2, seed=1)
        ours = sample_mask(kind, num_cols, 0.125, 2, seed=1)
        np.testing.assert_array_equal(ours.columns, expected)
        assert ours.num_low_frequencies == expected_low
