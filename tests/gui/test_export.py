"""File › Export › figure: the shown run as PNG / SVG / PDF in the scan's units, saying where it saved."""
import xml.etree.ElementTree as ET
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image
from PySide6.QtWidgets import QFileDialog, QWidget
from run_fixture import CT_FACTS, finished_run

from halluview.core.samples import load_sample
from halluview.gui import export

SVG = "{http://www.w3.org/2000/svg}"


class FakeWindow(QWidget):
    """What the export functions read from the main window: the session (selected run, scan) and the panels."""

    def __init__(self, record, scan, levels=None):
        super().__init__()
        self.session = SimpleNamespace(selected=record, scan=scan)
        self.panels = SimpleNamespace(levels=lambda: levels)


@pytest.fixture(scope="module")
def ct_scan():
    return load_sample("ct-small")


@pytest.fixture(scope="module")
def ct_record(ct_scan):
    experiment, result = finished_run(demo="ct-small", operator="ct", recon="fbp", steps=1, scan_facts=CT_FACTS,
                                      surrogate="tv")
    config = {**experiment.to_dict(), "scan_facts": {**CT_FACTS.__dict__, "source": ct_scan.source}}
    region = np.zeros(result.clean.shape, bool)
    region[12:22, 20:30] = True
    return SimpleNamespace(number=3, experiment=config, result=result, region=region)


def _texts(path):
    return {t.get("class"): "".join(t.itertext()) for t in ET.parse(path).getroot().iter(f"{SVG}text")}


def test_figure_export_says_where_it_saved_and_is_in_hu(qtbot, tmp_path, ct_record, ct_scan):
    window = FakeWindow(ct_record, ct_scan, levels=(0.96, 1.08))  # working units: -40 to +80 HU
    qtbot.addWidget(window)
    saved = export.export_png(window, str(tmp_path / "figure.png"))
    assert saved == tmp_path / "figure.png"
    with Image.open(saved) as image:
        assert image.info["dpi"] == pytest.approx((300, 300), abs=0.01)
    svg = export.export_figure(window, str(tmp_path / "figure.svg"))
    texts = _texts(svg)
    assert texts["colorbar-label"] == "HU"
    assert texts["scalebar-label"].endswith(" mm")  # the CT's pixel spacing is known (0.66 mm × 128 / 48)
    figure = export.figure_for_run(ct_record, ct_scan, (0.96, 1.08))
    assert figure.window == pytest.approx((-40.0, 80.0))
    assert figure.pixel_spacing_mm == pytest.approx((0.661468 * 128 / 48,) * 2)


def test_transfer_figures_say_so(qtbot, tmp_path, ct_record, ct_scan):
    window = FakeWindow(ct_record, ct_scan)
    qtbot.addWidget(window)
    saved = export.export_figure(window, str(tmp_path / "figure.svg"))
    assert "transfer from tv" in " ".join(t.text or "" for t in ET.parse(saved).getroot().iter(f"{SVG}text"))


def test_the_chosen_filter_sets_a_missing_suffix(qtbot, tmp_path, monkeypatch, ct_record, ct_scan):
    window = FakeWindow(ct_record, ct_scan)
    qtbot.addWidget(window)
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *args, **kwargs: (str(tmp_path / "figure"), "PDF (*.pdf)"))
    saved = export.export_figure(window)
    assert saved == tmp_path / "figure.pdf" and saved.read_bytes().startswith(b"%PDF")


def test_a_run_on_another_scan_keeps_its_own_units(qtbot, tmp_path, ct_record):
    window = FakeWindow(ct_record, load_sample("brain"))  # the user opened the demo since
    qtbot.addWidget(window)
    texts = _texts(export.export_figure(window, str(tmp_path / "figure.svg")))
    assert texts["colorbar-label"] == "HU"  # from the run's record, not the open scan's a.u.
    assert "scalebar-label" not in texts  # the open scan's spacing says nothing about this run


def test_nothing_to_export_writes_nothing(qtbot, tmp_path):
    window = FakeWindow(None, None)
    qtbot.addWidget(window)
    assert export.export_figure(window, str(tmp_path / "figure.png")) is None
    assert not list(tmp_path.iterdir())
