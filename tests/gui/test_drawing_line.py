"""The line-lesion tool draws a line: a segment with a width, recorded as the objective's line lesion, shown while
dragging and, once drawn, as a region that hugs the line (not the box around it)."""
import numpy as np
import pytest

from halluview.core.attacks.regions import line_lesion, region_mask

SHAPE = (64, 64)


@pytest.fixture
def setup(drawing_setup):
    return drawing_setup  # conftest: panels, session, DrawingController


def _distance_to_segment(x, y, a, b):
    """Distance of (x, y) from the segment a–b, written out independently of the drawing code."""
    (ax, ay), (bx, by) = a, b
    t = np.clip(((x - ax) * (bx - ax) + (y - ay) * (by - ay)) / ((bx - ax) ** 2 + (by - ay) ** 2), 0, 1)
    return np.hypot(x - ax - t * (bx - ax), y - ay - t * (by - ay))


def test_a_diagonal_drag_draws_a_line_with_its_width(setup):
    panels, session, controller = setup
    controller.set_tool("lesion-line")
    controller._on_drag("start", 10.5, 10.5)
    controller._on_drag("move", 50.5, 40.5)
    x, y = panels._sketches["clean"].getData()  # while dragging: the segment, drawn with its width
    assert panels._sketches["clean"].isVisible() and (x[0], y[0]) == (x[-1], y[-1])  # a closed outline
    across = np.abs((x - 10.5) * 30 - (y - 10.5) * 40) / 50  # distance from the line through the drag's ends
    np.testing.assert_allclose(across, controller.lesion_width_px / 2, atol=1e-9)
    assert _distance_to_segment(x, y, (10.5, 10.5), (50.5, 40.5)).max() < controller.lesion_width_px
    controller._on_drag("finish", 50.5, 40.5)
    assert not panels._sketches["clean"].isVisible()

    lesion = session.experiment.objective.lesion
    assert session.experiment.objective.kind == "insert"
    assert lesion == {"shape": "line", "start_xy": [10.0, 10.0], "end_xy": [50.0, 40.0], "width_px": 1.5}
    (region,) = session.regions.shapes
    mask = region_mask(region, SHAPE)
    _, painted = line_lesion(np.zeros(SHAPE, np.float32), lesion["start_xy"], lesion["end_xy"], 1.0,
                             lesion["width_px"])
    assert np.all(mask[painted])  # the region holds the whole line
    rows, cols = np.nonzero(mask)
    far = _distance_to_segment(cols, rows, (10, 10), (50, 40))
    assert far.max() < 5  # and hugs it: no pixel of the region lies far from the line
    box = (np.ptp(rows) + 1) * (np.ptp(cols) + 1)
    assert mask.sum() < 0.3 * box  # a band along the diagonal, not the box around it
    x, y = panels._outlines["difference"].getData()  # the outline on every panel follows the band
    assert x.size and _distance_to_segment(x, y, (10.5, 10.5), (50.5, 40.5)).max() < 6


def test_a_new_line_replaces_the_previous_lesion_and_keeps_its_intensity(setup):
    _, session, controller = setup
    controller.drag("lesion-disc", (20.5, 20.5), (24.5, 20.5))
    session.update(objective={"lesion": {**session.experiment.objective.lesion, "intensity": 0.4}})
    controller.drag("lesion-line", (5.5, 50.5), (30.5, 50.5))
    (region,) = session.regions.shapes
    assert region["kind"] == "polygon" and session.experiment.objective.lesion["intensity"] == 0.4
    assert region_mask(region, SHAPE)[50, 5:31].all() and not region_mask(region, SHAPE)[20, 20]


def test_a_click_draws_no_line(setup):
    _, session, controller = setup
    controller.drag("lesion-line", (10.5, 10.5), (10.7, 10.6))
    assert session.regions.shapes == [] and session.experiment.objective.kind == "untargeted"
