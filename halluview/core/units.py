"""The one mapping between a scan's units and the working units that simulations and reconstructions use.

CT in Hounsfield units works in attenuation relative to water, (HU + 1000) / 1000 (water 1, air 0); anything else
works in [0, 1], its slice's minimum to maximum. Readouts, colour bars, windows and lesion intensities are shown in
the scan's units through :class:`UnitMap`; nothing else converts.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HU_PER_WORKING_UNIT = 1000.0


@dataclass(frozen=True)
class UnitMap:
    """scan value = working value × ``scale`` + ``offset``; ``label`` names the scan's unit ("HU", "a.u.")."""

    scale: float = 1.0
    offset: float = 0.0
    label: str = "a.u."

    def to_scan(self, working):
        """Working units → the scan's units (a number or an array)."""
        return working * self.scale + self.offset

    def to_working(self, value):
        """The scan's units → working units."""
        return (value - self.offset) / self.scale

    def difference_to_scan(self, working_difference):
        """A difference of two working values in the scan's units (no offset)."""
        return working_difference * self.scale


HU = UnitMap(HU_PER_WORKING_UNIT, -HU_PER_WORKING_UNIT, "HU")
WORKING = UnitMap()
"""The identity: images already in working units (no scan open)."""


def unit_map(slice_image: np.ndarray, units: str) -> UnitMap:
    """The mapping for one slice of a scan in ``units``: fixed for HU, the slice's own range otherwise."""
    if units == "HU":
        return HU
    image = np.asarray(slice_image, dtype=np.float64)
    finite = image[np.isfinite(image)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    return UnitMap(high - low if high > low else 1.0, low, units)
