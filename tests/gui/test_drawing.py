"""Drawing tools: the drawn shapes land in session.regions as the core's region dicts, and the ROIs mirror them."""
import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from halluview.core.attacks.regions import disc_lesion, region_mask, rle_decode

SHAPE = (64, 64)


@pytest.fixture
def setup(drawing_setup):
    return drawing_setup  # conftest: panels, session, DrawingController


def _masks_equal(shapes, expected):
    assert len(shapes) == 1
    np.testing.assert_array_equal(region_mask(shapes[0], SHAPE), region_mask(expected, SHAPE))


def test_rect_drag(setup):
    panels, session, controller = setup
    controller.drag("rect", (30.6, 20.2), (10.3, 5.7))  # any corner to any corner
    assert session.regions.shapes == [{"kind": "rect", "xywh": [10, 6, 21, 14]}]
    assert session.experiment.objective.kind == "region"
    roi = controller.rois[0]
    assert (roi.pos().x(), roi.pos().y(), roi.size().x(), roi.size().y()) == (10, 6, 21, 14)
    assert roi.parentItem() is panels.views["clean"].childGroup
    x, y = panels._outlines["difference"].getData()
    assert (x.min(), x.max(), y.min(), y.max()) == (10, 31, 6, 20)


def test_ellipse_drag(setup):
    _, session, controller = setup
    controller.drag("ellipse", (10, 10), (30, 24))
    _masks_equal(session.regions.shapes, {"kind": "ellipse", "xywh": [10, 10, 20, 14]})


def test_polygon_lasso_on_pixel_edges_equals_the_rect(setup):
    _, session, controller = setup
    controller.drag("polygon", (10, 10), (10, 20), via=[(15, 10.2), (20, 10), (20, 20)])
    assert session.regions.shapes[0]["kind"] == "polygon"
    _masks_equal(session.regions.shapes, {"kind": "rect", "xywh": [10, 10, 10, 10]})


def test_clicks_draw_nothing(setup):
    _, session, controller = setup
    controller.drag("rect", (10, 10), (10.2, 30))
    controller.drag("polygon", (10, 10), (10.5, 10.5))
    assert session.regions.shapes == []


def test_mouse_drag_on_the_perturbed_panel(setup, qtbot):
    panels, session, controller = setup
    controller.set_tool("rect")
    vb = panels.views["perturbed"]
    widget = vb.getViewWidget().viewport()
    to_widget = lambda x, y: vb.getViewWidget().mapFromScene(vb.mapViewToScene(QPointF(x, y)))  # noqa: E731
    qtbot.mousePress(widget, Qt.MouseButton.LeftButton, pos=to_widget(8, 8))
    for t in np.linspace(0.125, 1, 8):
        qtbot.wait(15)  # pyqtgraph drops mouse moves closer than 10 ms apart
        qtbot.mouseMove(widget, to_widget(8 + 30 * t, 8 + 20 * t))
    qtbot.mouseRelease(widget, Qt.MouseButton.LeftButton, pos=to_widget(38, 28))
    (shape,) = session.regions.shapes
    assert shape["kind"] == "rect"
    x, y, w, h = shape["xywh"]
    assert abs(x - 8) <= 1 and abs(y - 8) <= 1 and abs(w - 30) <= 2 and abs(h - 20) <= 2


def test_moving_an_roi_updates_the_model(setup):
    _, session, controller = setup
    controller.add_shape({"kind": "rect", "xywh": [10, 6, 21, 14]})
    controller.add_shape({"kind": "polygon", "points": [[5, 40], [20, 40], [12, 55]]})
    rect, polygon = controller.rois
    rect.setPos([15, 8])
    polygon.setPos([3, -2])
    assert session.regions.shapes[0] == {"kind": "rect", "xywh": [15, 8, 21, 14]}
    assert session.regions.shapes[1] == {"kind": "polygon", "points": [[8, 38], [23, 38], [15, 53]]}
    assert controller.rois == [rect, polygon]  # edited in place, not rebuilt


def test_undo_redo_round_trip(setup):
    panels, session, controller = setup
    first, second = {"kind": "rect", "xywh": [1, 1, 5, 5]}, {"kind": "ellipse", "xywh": [20, 20, 10, 8]}
    controller.add_shape(first)
    controller.add_shape(second)
    controller.undo()
    assert session.regions.shapes == [first] and len(controller.rois) == 1
    controller.redo()
    assert session.regions.shapes == [first, second] and len(controller.rois) == 2
    assert controller.rois[1].size().x() == 10
    controller.undo()
    controller.undo()
    assert controller.rois == [] and not panels._outlines["clean"].isVisible()
    assert len(panels.views["clean"].addedItems) == len(panels.views["perturbed"].addedItems)  # no ROI left


def test_delete(setup):
    _, session, controller = setup
    controller.add_shape({"kind": "rect", "xywh": [1, 1, 5, 5]})
    controller.add_shape({"kind": "rect", "xywh": [20, 20, 5, 5]})
    controller.rois[1].sigRemoveRequested.emit(controller.rois[1])  # the ROI's context menu
    assert session.regions.shapes == [{"kind": "rect", "xywh": [1, 1, 5, 5]}]
    controller._select(controller.rois[0])
    controller.delete_selected()  # the Delete key
    assert session.regions.shapes == []


def test_brush_stroke_is_one_rle_region(setup):
    _, session, controller = setup
    controller.brush_radius_px = 3
    controller.drag("brush", (10.5, 10.5), (30.5, 10.5), via=[(20.5, 10.5)])
    (shape,) = session.regions.shapes
    assert shape["kind"] == "rle" and shape["shape"] == list(SHAPE)
    # independent: pixel centres within 3 px of the horizontal segment row 10, cols 10..30
    rows, cols = np.mgrid[:SHAPE[0], :SHAPE[1]]
    nearest_col = np.clip(cols, 10, 30)
    expected = np.hypot(cols - nearest_col, rows - 10) <= 3
    np.testing.assert_array_equal(rle_decode(shape["runs"], SHAPE), expected)
    assert controller.patch_area_px() == (int(expected.sum()), None)


def test_lesion_disc_sets_the_objective_and_a_region(setup):
    _, session, controller = setup
    session.update(objective={"lesion": {"intensity": 0.9}})  # as typed in the objective panel: a new lesion keeps it
    controller.drag("lesion-disc", (40.5, 30.5), (44.5, 30.5))
    objective = session.experiment.objective
    assert objective.kind == "insert"
    assert objective.lesion == {"shape": "disc", "center_xy": [40.0, 30.0], "radius_px": 4.0, "intensity": 0.9}
    (region,) = session.regions.shapes
    _, lesion = disc_lesion(np.zeros(SHAPE), (40, 30), 4.0, 0.9)
    assert lesion[30, 40] and np.all(region_mask(region, SHAPE)[lesion])  # the region holds the lesion
    controller.drag("lesion-disc", (10.5, 10.5), (12.5, 10.5))  # a new lesion replaces the old region
    (region,) = session.regions.shapes
    assert region_mask(region, SHAPE)[10, 10] and session.experiment.objective.lesion["center_xy"] == [10, 10]


def test_lesion_line_and_remove_lesion(setup):
    _, session, controller = setup
    controller.drag("lesion-line", (10.5, 20.5), (30.5, 25.5))
    lesion = session.experiment.objective.lesion
    assert lesion["shape"] == "line" and lesion["start_xy"] == [10, 20] and lesion["end_xy"] == [30, 25]
    assert "intensity" not in lesion  # the core picks a bright default
    mask = region_mask(session.regions.shapes[0], SHAPE)
    assert mask[20, 10] and mask[25, 30]
    controller.drag("remove-lesion", (50.5, 50.5), (55.5, 50.5))
    assert session.experiment.objective.kind == "remove"
    assert session.regions.shapes[-1]["kind"] == "rle"


def test_tools_and_patch_area(setup, qtbot):
    panels, session, controller = setup
    with qtbot.waitSignal(controller.toolChanged) as blocker:
        controller.set_tool("ellipse")
    assert blocker.args == ["ellipse"] and panels.draw_mode
    controller.set_tool("none")
    assert not panels.draw_mode
    with pytest.raises(ValueError):
        controller.set_tool("lasso")
    controller.add_shape({"kind": "rect", "xywh": [0, 0, 10, 4]})
    controller.add_shape({"kind": "rect", "xywh": [5, 0, 10, 4]})  # overlapping: the union counts once
    assert controller.patch_area_px((0.5, 0.8)) == (60, pytest.approx(60 * 0.4))
