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
