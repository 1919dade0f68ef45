"""The app at a real scan's own resolution: a 512² CT is reconstructed at 512², a working size is a visible,
recorded choice, regions stay in the scan's pixels, and the time a run will take is said before it starts."""
import numpy as np
from pydicom.data import get_testdata_file
from window_helpers import open_and_wait, run_and_wait

CT = get_testdata_file("693_J2KI.dcm", download=False)


def test_a_512_ct_is_reconstructed_at_its_own_size_and_the_panel_says_so(qtbot, window):
    open_and_wait(qtbot, window, window.session.open_path, CT)
    assert tuple(window.session.preview.clean.shape[-2:]) == (512, 512)
    assert window.panels.image_shape() == (512, 512)
    panel = window.scan_panel
    assert panel.working.currentText() == "Its own size (512 × 512 px)" and panel.working.isEnabled()
    assert panel.geometry.text() == "512×512 px at 0.479×0.479 mm\nattacked at its own size"
    assert window.progress_label.text().startswith("Run ▶ will take about ")


def test_a_working_size_is_chosen_in_the_panel_and_regions_stay_in_scan_pixels(qtbot, window):
    open_and_wait(qtbot, window, window.session.open_path, CT)
    panel = window.scan_panel
    index = panel.working.findData(128)
    with qtbot.waitSignal(window.session.previewReady, timeout=60_000):
        panel.working.setCurrentIndex(index)
        panel.working.activated.emit(index)
    assert window.session.experiment.source.image_size == 128
    assert tuple(window.session.preview.clean.shape[-2:]) == (128, 128)
    assert window.panels.image_shape() == (512, 512)  # the panels' coordinates are still the scan's pixels
    assert "\nresized to 128×128 (1.91×1.91 mm) by choice" in panel.geometry.text()
    rect = window.panels.images["clean"].mapRectToView(window.panels.images["clean"].boundingRect())
    assert (rect.width(), rect.height()) == (512, 512)  # the 128² image covers the scan's 512² pixels
    window.session.regions.add({"kind": "rect", "xywh": [200, 240, 64, 32]})
    window.session.regions_edited()
    record = run_and_wait(qtbot, window)
    assert record.experiment["region"] == {"kind": "rect", "xywh": [200, 240, 64, 32]}
    assert record.region.shape == (512, 512) and record.region.sum() == 64 * 32
    values = window.panels.values_at(250, 210)  # a scan pixel maps to its working pixel
    assert values and np.isfinite(list(values.values())).all()
