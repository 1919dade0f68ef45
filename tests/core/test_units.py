"""The one mapping between a scan's units and working units: fixed points from the HU definition."""
import numpy as np

from halluview.core.problem import from_working_units, working_image
from halluview.core.scan import Scan
from halluview.core.units import HU, unit_map


def test_hu_maps_air_to_zero_and_water_to_one():
    assert HU.to_working(-1000.0) == 0.0 and HU.to_working(0.0) == 1.0
    assert HU.to_scan(2.0) == 1000.0
    assert HU.difference_to_scan(0.05) == 50.0


def test_other_units_map_the_slice_range_onto_zero_to_one():
    image = np.array([[10.0, 20.0], [30.0, 50.0]])
    units = unit_map(image, "a.u.")
    assert np.allclose(units.to_working(image), (image - 10) / 40)
    assert np.allclose(units.to_scan(units.to_working(image)), image)
    assert units.label == "a.u."


def test_working_image_and_its_inverse_use_the_same_mapping():
    ct = Scan(volume=np.array([[[-1000.0, 0.0], [1000.0, 40.0]]], np.float32), modality="CT", units="HU")
    working = working_image(ct, 0, None)
    assert np.allclose(working, [[0.0, 1.0], [2.0, 1.04]])
    assert np.allclose(from_working_units(working, ct, 0), ct.volume[0])


def test_a_derived_slice_keeps_its_place_in_the_volume():
    """World coordinates of the derived slice's pixel centres are those of the source voxels they stand for."""
    from halluview.core.problem import derived_scan

    rng = np.random.default_rng(0)
    affine = np.array([[0.0, 0.0, -0.9, 120.0], [0.0, -0.8, 0.0, 90.0], [2.5, 0.0, 0.0, -40.0], [0, 0, 0, 1]])
    affine[:3, :3] += rng.normal(0, 0.01, (3, 3))  # slightly oblique
    volume = rng.random((5, 8, 6)).astype(np.float32)
    scan = Scan(volume=volume, modality="MR", units="a.u.", spacing_mm=(2.5, 0.8, 0.9), affine=affine)
    same = derived_scan(scan, 3, working_image(scan, 3, None), "test")
    np.testing.assert_allclose(same.affine @ [0, 2, 4, 1], affine @ [3, 2, 4, 1])
    np.testing.assert_allclose(same.volume[0], volume[3], atol=1e-6)
    half = derived_scan(scan, 1, np.zeros((4, 3), np.float32), "test")  # 2 × 2 source pixels per new pixel
    np.testing.assert_allclose(half.affine @ [0, 0, 0, 1], affine @ [1, 0.5, 0.5, 1])  # the 2 × 2 block's centre
    np.testing.assert_allclose(half.affine @ [0, 3, 2, 1], affine @ [1, 6.5, 4.5, 1])
