"""The app's diverging map is the core table, entry for entry (the figure and the report use the same one)."""
import numpy as np

from halluview.core.display import N_DIVERGING, diverging_lut
from halluview.gui.colormaps import COLORMAPS, lookup_table
from halluview.gui.colormaps import N_DIVERGING as GUI_N


def test_app_diverging_map_is_the_core_table():
    assert GUI_N == N_DIVERGING
    np.testing.assert_array_equal(lookup_table("diverging"), diverging_lut())
    # anything that asks pyqtgraph's colour map itself (a colour bar widget) gets the same entries
    np.testing.assert_array_equal(COLORMAPS["diverging"].getLookupTable(0.0, 1.0, N_DIVERGING, alpha=False,
                                                                        mode="byte"), diverging_lut())
