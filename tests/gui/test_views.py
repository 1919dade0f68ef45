"""The image panels: orientation, linked views that keep their zoom, the fixed diverging map, overlays, W/L."""
import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from halluview.core.phantoms import brain_phantom
from halluview.gui.colormaps import lookup_table
from halluview.gui.panel_viewbox import mask_outline
from halluview.gui.views import TITLES, ImagePanels


@pytest.fixture
def panels(qtbot):
    widget = ImagePanels()
    qtbot.addWidget(widget)
    widget.resize(960, 360)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def _rgb(item, x, y):
    item.render()
    return item.qimage.pixelColor(x, y).getRgb()[:3]


def test_row_major_orientation_row_zero_at_top(panels):
    image = np.zeros((20, 30), np.float32)
    image[2, 7] = 1.0
    panels.set_images(clean=image)
    panels.set_levels(0, 1)
    item = panels.images["clean"]
    assert (item.width(), item.height()) == (30, 20)  # x = columns, y = rows: not transposed
    assert _rgb(item, 7, 2) == (255, 255, 255)
    assert _rgb(item, 2, 7) == (0, 0, 0)
    vb = panels.views["clean"]
    assert vb.yInverted()
    top, bottom = (vb.mapViewToScene(QPointF(5, row)).y() for row in (0, 19))
    assert top < bottom  # row 0 is drawn above row 19


def test_panels_are_linked(panels):
    panels.set_images(clean=brain_phantom(64), perturbed=brain_phantom(64), difference=np.zeros((64, 64)))
    panels.views["perturbed"].setRange(xRange=(10, 20), yRange=(30, 40), padding=0)
    target = np.array(panels.views["perturbed"].viewRange())
    assert target[0, 1] - target[0, 0] < 20  # zoomed in
    for name in ("clean", "difference"):
        np.testing.assert_allclose(panels.views[name].viewRange(), target, atol=0.05)


def test_updates_keep_the_view_and_a_new_shape_fits_it(panels):
    panels.set_images(clean=brain_phantom(64), perturbed=brain_phantom(64))
    panels.views["clean"].setRange(xRange=(5, 25), yRange=(5, 25), padding=0)
    zoomed = np.array(panels.views["clean"].viewRange())
    for step in range(3):
        panels.set_images(perturbed=brain_phantom(64) + step, difference=np.full((64, 64), step, np.float32))
    np.testing.assert_allclose(panels.views["clean"].viewRange(), zoomed)
    panels.set_images(clean=np.zeros((32, 48)))
    (x0, x1), (y0, y1) = panels.views["clean"].viewRange()
    assert x0 <= 0 and x1 >= 48 and y0 <= 0 and y1 >= 32
    assert panels.images["perturbed"].image is None  # the stale 64 × 64 image is gone


def test_difference_map_is_symmetric_about_zero(panels):
    lut = [tuple(int(v) for v in entry) for entry in lookup_table("diverging")]
    panels.set_difference_limit(0.5)
    values = np.array([[-0.5, -0.2, 0.0, 0.2, 0.5, 2.0]], np.float32)
    panels.set_images(difference=np.repeat(values, 3, axis=0))
    colours = [_rgb(panels.images["difference"], col, 1) for col in range(values.shape[1])]
    indices = [lut.index(c) for c in colours]
    middle = (len(lut) - 1) // 2
    assert colours[2] == (128, 128, 128) and indices[2] == middle  # 0 is mid grey
    assert indices[0] == 0 and indices[4] == len(lut) - 1 and indices[5] == len(lut) - 1  # ±limit: the ends
    assert indices[1] + indices[3] == 2 * middle  # ±0.2 equally far from grey
    b, r = colours[0][2], colours[4][0]
    assert b > 200 and colours[0][0] < 100 and r > 200 and colours[4][2] < 100  # blue below, red above
    # the range stays fixed when larger differences arrive
    panels.set_images(difference=np.full((3, 6), 3.0, np.float32))
    assert panels.images["difference"].getLevels().tolist() == [-0.5, 0.5]


def test_abs_difference_is_a_heat_map(panels):
    panels.set_difference_limit(1.0)
    panels.set_difference_mode("abs")
    panels.set_images(difference=np.array([[0.0, -1.0, 1.0]], np.float32))
    item = panels.images["difference"]
    assert _rgb(item, 0, 0) == (0, 0, 0)
    assert _rgb(item, 1, 0) == _rgb(item, 2, 0) == tuple(int(v) for v in lookup_table("heat")[-1])


def test_region_outline_on_every_panel(panels):
    panels.set_extra_panel("reference")
    image = brain_phantom(64)
    panels.set_images(clean=image, perturbed=image, difference=image * 0, extra=image)
    mask = np.zeros((64, 64), bool)
    mask[10:20, 30:45] = True  # rows 10..19, cols 30..44
    panels.set_region_mask(mask)
    for name, outline in panels._outlines.items():
        assert outline.isVisible(), name
        x, y = outline.getData()
        assert (x.min(), x.max(), y.min(), y.max()) == (30, 45, 10, 20)
        assert x.size == 2 * (2 * 15 + 2 * 10)  # one segment per pixel edge on the perimeter
    panels.set_region_mask(None)
    assert not any(outline.isVisible() for outline in panels._outlines.values())


def test_mask_outline_of_a_single_pixel():
    x, y = mask_outline(np.array([[0, 0], [0, 1]], bool))
    segments = {tuple(sorted([(x[i], y[i]), (x[i + 1], y[i + 1])])) for i in range(0, x.size, 2)}
    assert segments == {((1, 1), (2, 1)), ((1, 2), (2, 2)), ((1, 1), (1, 2)), ((2, 1), (2, 2))}


def test_values_at_and_crosshair(panels, qtbot):
    clean = np.arange(12, dtype=np.float32).reshape(3, 4)
    panels.set_images(clean=clean, perturbed=clean + 1, difference=np.ones((3, 4)))
    assert panels.values_at(2, 1) == {TITLES["clean"]: 9.0, TITLES["perturbed"]: 10.0, TITLES["difference"]: 1.0}
    assert panels.values_at(5, 0) == {}
    with qtbot.waitSignal(panels.cursorMoved) as blocker:
        panels.set_cursor(2, 1)
    assert blocker.args == [2, 1]
    for vertical, horizontal in panels._crosshairs.values():
        assert vertical.isVisible() and (vertical.value(), horizontal.value()) == (1.5, 2.5)


def test_levels_apply_to_grey_panels_only(panels, qtbot):
    image = brain_phantom(32)
    panels.set_difference_limit(0.1)
    panels.set_images(clean=image, perturbed=image, difference=image * 0)
    with qtbot.waitSignal(panels.levelsChanged) as blocker:
        panels.set_levels(0.2, 0.6)
    assert blocker.args == [0.2, 0.6] and panels.levels() == (0.2, 0.6)
    for name in ("clean", "perturbed"):
        assert panels.images[name].getLevels().tolist() == pytest.approx([0.2, 0.6])
    assert panels.images["difference"].getLevels().tolist() == pytest.approx([-0.1, 0.1])
    panels.show_histogram(True)
    assert panels.histogram.isVisible()
    assert panels.histogram.item.getLevels() == pytest.approx((0.2, 0.6))


def test_right_drag_sets_the_window(panels, qtbot):
    panels.set_images(clean=brain_phantom(64))
    panels.set_levels(0.0, 1.0)
    before = panels.views["clean"].viewRange()
    view = panels.views["clean"].getViewWidget()
    centre = view.mapFromScene(panels.views["clean"].sceneBoundingRect().center())
    qtbot.mousePress(view.viewport(), Qt.MouseButton.RightButton, pos=centre)
    for step in range(1, 11):  # right and up: a wider window, a lower centre (brighter)
        qtbot.wait(15)  # pyqtgraph drops mouse moves closer than 10 ms apart
        qtbot.mouseMove(view.viewport(), centre + QPointF(8 * step, -4 * step).toPoint())
    qtbot.mouseRelease(view.viewport(), Qt.MouseButton.RightButton, pos=centre + QPointF(80, -40).toPoint())
    low, high = panels.levels()
    assert high - low > 1.2
    assert (low + high) / 2 < 0.4
    np.testing.assert_allclose(panels.views["clean"].viewRange(), before)  # no zoom


def _wheel(panels, notches, modifiers=Qt.KeyboardModifier.NoModifier):
    vb = panels.views["clean"]
    view = vb.getViewWidget()
    pos = QPointF(view.mapFromScene(vb.sceneBoundingRect().center()))
    event = QWheelEvent(pos, QPointF(view.viewport().mapToGlobal(pos.toPoint())), QPoint(0, 0),
                        QPoint(0, 120 * notches), Qt.MouseButton.NoButton, modifiers, Qt.ScrollPhase.NoScrollPhase,
                        False)
    QApplication.sendEvent(view.viewport(), event)


def test_wheel_steps_slices_only_when_asked(panels, qtbot):
    panels.set_images(clean=brain_phantom(64))
    fitted = np.array(panels.views["clean"].viewRange())
    _wheel(panels, 1)  # a single image: the wheel zooms
    zoomed = np.array(panels.views["clean"].viewRange())
    assert np.ptp(zoomed[0]) < np.ptp(fitted[0])
    panels.set_wheel_changes_slice(True)
    with qtbot.waitSignal(panels.wheelSlice) as blocker:
        _wheel(panels, -1)
    assert blocker.args == [-1]
    np.testing.assert_allclose(panels.views["clean"].viewRange(), zoomed)  # stepping slices does not zoom
    with qtbot.assertNotEmitted(panels.wheelSlice):
        _wheel(panels, 1, Qt.KeyboardModifier.ControlModifier)  # Ctrl + wheel zooms
    assert np.ptp(panels.views["clean"].viewRange()[0]) < np.ptp(zoomed[0])


def test_extra_panel_titles(panels):
    assert not panels._columns["extra"].isVisible()
    panels.set_extra_panel("perturbation")
    assert panels._columns["extra"].isVisible()
    assert panels.titles["extra"].text().startswith("Perturbation")
    panels.set_extra_panel("reference")
    assert panels.titles["extra"].text() == "Reference"
    with pytest.raises(ValueError):
        panels.set_extra_panel("noise")


def test_screenshot(panels):
    clean = brain_phantom(128)
    rows, cols = np.mgrid[:128, :128]
    blob = 0.25 * np.exp(-((rows - 50) ** 2 + (cols - 80) ** 2) / 40.0) - 0.1 * np.exp(
        -((rows - 85) ** 2 + (cols - 45) ** 2) / 60.0)
    panels.set_extra_panel("perturbation")
    panels.set_difference_limit(0.25)
    panels.set_images(clean=clean, perturbed=clean + blob, difference=blob,
                      extra=0.02 * np.sin(cols / 3.0) * np.cos(rows / 5.0))
    panels.set_levels(0.0, 1.0)
    panels.show_histogram(True)
    mask = np.hypot(rows - 50, cols - 80) < 10
    panels.set_region_mask(mask)
    panels.set_cursor(50, 80)
    image = panels.grab_panels()
    assert not image.isNull() and image.width() > 500
    image.save("/tmp/views.png")


def test_image_colour_map_applies_to_the_grey_panels_only(panels):
    image = np.linspace(0, 1, 64).reshape(8, 8)
    panels.set_images(clean=image, perturbed=image, difference=image - 0.5)
    assert panels.images["clean"].lut is None
    panels.set_image_colormap("viridis")
    lut = panels.images["clean"].lut
    assert lut is not None and tuple(lut[0]) != tuple(lut[-1]) and lut[0][0] != lut[0][2]  # coloured, not grey
    difference_lut = panels.images["difference"].lut
    panels.set_image_colormap("grey")
    assert panels.images["clean"].lut is None and panels.images["difference"].lut is difference_lut
    with pytest.raises(ValueError):
        panels.set_image_colormap("rainbow")
