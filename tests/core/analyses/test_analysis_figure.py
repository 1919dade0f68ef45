"""An analysis's figure: every panel, curve and finding drawn; maps from black at 0; fixed limits kept; files
written whole, in PNG or SVG only."""
import numpy as np
import pytest
from PIL import Image

from halluview.core.analyses.figure import MAP_STOPS, map_rgb, panel_rgb, save_view, view_layout
from halluview.core.analyses.view import AnalysisView, Curve, Panel


def _view() -> AnalysisView:
    ramp = np.linspace(0, 1, 64 * 48).reshape(64, 48)
    return AnalysisView([Panel("grey", ramp), Panel("signed", ramp - 0.5, "signed"),
                         Panel("map", ramp * 0.2, "map", "a note", limits=(0.0, 1.0))],
                        [Curve("curve", "x", "y", [0.0, 1.0, 2.0], {"a": [1.0, 2.0, float("nan")]}, mark=1.0)],
                        ["first finding", "second finding"])


def test_maps_run_from_black_at_zero_to_the_last_stop_at_their_top():
    rgb = map_rgb(np.array([0.0, 0.5, 1.0]))
    assert tuple(rgb[0]) == MAP_STOPS[0][1] and tuple(rgb[-1]) == MAP_STOPS[-1][1]
    assert (map_rgb(np.zeros(3)) == MAP_STOPS[0][1]).all()  # an all-zero map is black, not undefined


def test_fixed_limits_are_kept_not_stretched_to_the_image():
    faint = Panel("map", np.full((4, 4), 0.2), "map", limits=(0.0, 1.0))
    stretched = Panel("map", np.full((4, 4), 0.2), "map")
    assert tuple(panel_rgb(faint)[0, 0]) != tuple(panel_rgb(stretched)[0, 0])
    assert tuple(panel_rgb(stretched)[0, 0]) == MAP_STOPS[-1][1]


def test_the_layout_draws_every_panel_curve_and_finding():
    layout = view_layout(_view(), "title")
    assert len(layout.find("panel")) == 3 and len(layout.find("curve")) == 1
    assert [t.text for t in layout.find("caption")] == ["first finding", "second finding"]


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_the_figure_and_each_curve_are_written(tmp_path, suffix):
    written = save_view(_view(), tmp_path / f"fig{suffix}", "title")
    assert [p.name for p in written] == [f"fig{suffix}", "fig-curve-1.svg"]
    if suffix == ".png":
        with Image.open(written[0]) as image:
            assert image.size[0] > 2 * 256
    assert "<polyline" in written[1].read_text()


def test_another_format_is_refused_and_nothing_is_left(tmp_path):
    with pytest.raises(ValueError, match="png or .svg"):
        save_view(_view(), tmp_path / "fig.pdf", "title")
    assert not list(tmp_path.iterdir())
