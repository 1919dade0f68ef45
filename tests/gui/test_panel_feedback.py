"""What the side panels tell the user at a glance: which drawing tool and which ε preset are the current ones, in
plain words with the exact terms in tooltips, the lesion intensity in the scan's units, and which run is on screen."""
import dataclasses
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractButton, QComboBox, QLabel

from halluview.core.scan import Scan
from halluview.gui.drawing import DrawingController
from halluview.gui.panels import HistoryPanel, ObjectivePanel, OperatorPanel, OptimizerPanel, ScanPanel, form
from halluview.gui.panels.draw_panel import DrawPanel
from halluview.gui.panels.threat_panel import PRESETS_PERCENT, ThreatPanel
from halluview.gui.session import RunRecord, Session
from halluview.gui.theme import ACCENT
from halluview.gui.views import ImagePanels


@pytest.fixture
def session(qtbot, monkeypatch):
    session = Session()
    monkeypatch.setattr(session, "request_preview", lambda: None)  # no background reconstruction in these tests
    return session


def make(qtbot, cls, *args):
    qtbot.addWidget(panel := cls(*args))
    return panel


def _luminance(colour: str) -> float:
    """WCAG 2 relative luminance of a "#rrggbb" colour."""
    channels = []
    for value in QColor(colour).getRgbF()[:3]:
        channels.append(value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4)
    return 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2]


def _contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _accent_pixels(widget) -> int:
    """How many pixels of the rendered widget are (nearly) the accent colour: the frame of a chosen toggle."""
    image = widget.grab().toImage()
    accent = QColor(ACCENT)
    count = 0
    for y in range(image.height()):
        for x in range(image.width()):
            c = image.pixelColor(x, y)
            count += abs(c.red() - accent.red()) + abs(c.green() - accent.green()) + abs(c.blue() - accent.blue()) < 40
    return count


@pytest.fixture
def draw(qtbot, session):
    panels = make(qtbot, ImagePanels)
    panels.set_images(clean=np.zeros((32, 32)), perturbed=np.zeros((32, 32)), difference=np.zeros((32, 32)))
    drawing = DrawingController(panels, session)
    return make(qtbot, DrawPanel, session, drawing), drawing


def choose(combo, data) -> None:
    """What a user's pick does: select the item and emit ``activated``."""
    index = combo.findData(data)
    combo.setCurrentIndex(index)
    combo.activated.emit(index)


def checked(buttons) -> list:
    return [name for name, button in buttons.items() if button.isChecked()]


def test_the_active_drawing_tool_is_the_one_highlighted_button(qtbot, draw):
    panel, drawing = draw
    assert checked(panel.buttons) == ["none"]
    qtbot.mouseClick(panel.buttons["ellipse"], Qt.LeftButton)
    assert drawing.tool == "ellipse" and checked(panel.buttons) == ["ellipse"]
    drawing.set_tool("lesion-line")  # a tool chosen another way (a key, a script) shows too
    assert checked(panel.buttons) == ["lesion-line"]
    qtbot.mouseClick(panel.buttons["lesion-line"], Qt.LeftButton)  # clicking the active tool keeps it
    assert drawing.tool == "lesion-line" and checked(panel.buttons) == ["lesion-line"]
    # readable on the dark theme: an accent frame only on the chosen tool, light text on a dark fill
    assert _accent_pixels(panel.buttons["lesion-line"]) > 20 and _accent_pixels(panel.buttons["rect"]) == 0
    assert _contrast(form.CHECKED_TEXT, form.CHECKED_BACKGROUND) >= 7
    assert _contrast(form.CHECKED_BACKGROUND, "#353535") > 1.2  # the fill differs from an unchosen button's


def test_remove_lesion_is_named_so(draw):
    panel, drawing = draw
    texts = [button.text() for button in panel.buttons.values()]
    assert "Remove lesion" in texts and "Erase" not in texts
    panel.buttons["remove-lesion"].click()
    assert drawing.tool == "remove-lesion"
    drawing.drag("remove-lesion", (10.5, 10.5), (14.5, 10.5))
    assert drawing.session.experiment.objective.kind == "remove"


def test_the_preset_that_is_the_budget_is_highlighted(qtbot, session):
    panel = make(qtbot, ThreatPanel, session)
    presets = dict(zip(PRESETS_PERCENT, panel.preset_buttons))

    def highlighted():
        return [p for p, button in presets.items() if button.isChecked()]

    qtbot.mouseClick(presets[2.5], Qt.LeftButton)
    assert session.experiment.threat.eps == pytest.approx(0.025) and highlighted() == [2.5]
    qtbot.mouseClick(presets[2.5], Qt.LeftButton)  # a second click keeps it the budget, and highlighted
    assert highlighted() == [2.5]
    panel.eps.setValue(3.0)  # typed: no preset is the budget
    assert session.experiment.threat.eps == pytest.approx(0.03) and highlighted() == []
    session.update(threat={"eps": 0.005})
    assert highlighted() == [0.5]
    assert _accent_pixels(presets[0.5]) > 20 and _accent_pixels(presets[8.0]) == 0
    session.update(threat={"eps_mode": "absolute", "eps": 0.005})  # the same number, but not a percentage
    assert highlighted() == []


def _scan(units: str, volume: np.ndarray) -> Scan:
    return Scan(volume=volume.astype(np.float32), modality="CT" if units == "HU" else "MR", units=units,
                spacing_mm=(1.0, 1.0, 1.0), source=f"/data/{units}.dcm")


def _open(session, scan: Scan, lesion: dict | None = None) -> None:
    """What opening ``scan`` tells the panels; ``lesion``: the objective's lesion the session chose for it."""
    session.scan, session.slice_index = scan, 0
    if lesion is not None:
        objective = dataclasses.replace(session.experiment.objective, lesion=lesion)
        session.experiment = dataclasses.replace(session.experiment, objective=objective)
    session.scanChanged.emit()  # not settingsChanged: the panel must follow the new scan either way


HEAD = np.stack([np.linspace(-1000, 1200, 16 * 12).reshape(16, 12)] * 3)  # HU, air to bone


def test_lesion_intensity_in_hounsfield_units(qtbot, session):
    panel = make(qtbot, ObjectivePanel, session)
    _open(session, _scan("HU", HEAD))
    session.update(objective={"kind": "insert", "lesion": {"shape": "disc", "intensity": 1.04}})
    assert (panel.intensity.value(), panel.intensity.suffix()) == (pytest.approx(40), " HU")  # (HU + 1000) / 1000
    assert panel.intensity.isVisibleTo(panel) and not panel.auto_text.isVisibleTo(panel)
    panel.intensity.setValue(60)
    assert session.experiment.objective.lesion == {"shape": "disc", "intensity": pytest.approx(1.06)}
    panel.auto_intensity.setChecked(True)
    assert session.experiment.objective.lesion == {"shape": "disc"}
    assert panel.auto_text.isVisibleTo(panel) and not panel.intensity.isVisibleTo(panel)
    panel.auto_intensity.setChecked(False)  # the user's to set: it starts at the slice's brightest 1 %
    start_hu = round(float(np.percentile(HEAD[0], 99)))
    assert session.experiment.objective.lesion["intensity"] == pytest.approx((start_hu + 1000) / 1000)
    assert panel.intensity.value() == pytest.approx(start_hu)


def test_lesion_intensity_in_each_slices_arbitrary_units(qtbot, session):
    panel = make(qtbot, ObjectivePanel, session)
    volume = np.stack([np.linspace(10, 30, 16 * 12).reshape(16, 12), np.linspace(0, 100, 16 * 12).reshape(16, 12)])
    _open(session, _scan("a.u.", volume))
    session.update(objective={"kind": "insert", "lesion": {"intensity": 0.5}})
    assert (panel.intensity.value(), panel.intensity.suffix()) == (pytest.approx(20), " a.u.")  # 10 + 0.5 × 20
    session.set_slice(1)  # working units follow each slice's own range
    assert panel.intensity.value() == pytest.approx(50)
    panel.intensity.setValue(75)
    assert session.experiment.objective.lesion["intensity"] == pytest.approx(0.75)


def test_a_new_scan_shows_its_own_lesion_intensity(qtbot, session):
    panel = make(qtbot, ObjectivePanel, session)
    _open(session, _scan("a.u.", np.stack([np.linspace(0, 2, 16 * 12).reshape(16, 12)])))
    session.update(objective={"kind": "insert", "lesion": {"shape": "disc", "intensity": 0.9}})
    assert panel.intensity.value() == pytest.approx(1.8)
    _open(session, _scan("HU", HEAD), lesion={"shape": "disc"})  # the session resets the intensity for a new scan
    assert panel.auto_intensity.isChecked() and panel.auto_text.isVisibleTo(panel)
    assert not panel.intensity.isVisibleTo(panel)
    session.update(objective={"lesion": {"shape": "disc", "intensity": 1.0}})
    _open(session, _scan("a.u.", np.stack([np.linspace(0, 2, 16 * 12).reshape(16, 12)])))  # kept: shown converted
    assert (panel.intensity.value(), panel.intensity.suffix()) == (pytest.approx(2.0), " a.u.")


def _start(session, record: RunRecord) -> None:
    """What Session.start_attack announces, in its order."""
    session.runs.append(record)
    session.selected = record
    session.runStarted.emit(record)
    session.historyChanged.emit()


def highlighted_runs(panel) -> list[int]:
    return [panel.list.item(i).data(Qt.UserRole).number for i in range(panel.list.count())
            if panel.list.item(i).isSelected()]


def test_the_history_highlights_the_run_on_screen(qtbot, session):
    panel = make(qtbot, HistoryPanel, session)
    for n in (1, 2):
        _start(session, RunRecord(n, session.experiment.to_dict(), status="done"))
    assert highlighted_runs(panel) == [2]
    session.select_run(session.runs[0])
    assert highlighted_runs(panel) == [1]
    _start(session, RunRecord(3, session.experiment.to_dict()))  # a new run: it is the one on screen now
    assert highlighted_runs(panel) == [3]
    session.runs[2].status = "done"
    session.historyChanged.emit()
    assert highlighted_runs(panel) == [3]
    session.select_run(None)  # nothing on screen belongs to a run
    assert highlighted_runs(panel) == []


def test_a_transfer_run_says_where_its_perturbation_came_from(qtbot, session):
    panel = make(qtbot, HistoryPanel, session)
    direct = RunRecord(1, session.experiment.to_dict(), status="done")
    transfer = RunRecord(2, {**session.experiment.to_dict(), "surrogate": "dncnn-mri-4x"}, status="done")
    session.runs = [direct, transfer]
    session.historyChanged.emit()
    texts = [panel.list.item(i).text() for i in range(2)]
    assert "transfer" not in texts[0] and texts[0] == direct.label
    assert texts[1] == "#2 transfer from dncnn-mri-4x · " + transfer.label.removeprefix("#2 ")
    assert "transfer from dncnn-mri-4x" in panel.list.item(1).toolTip()


JARGON = ("‖", "ε", "σ", "α", "I₀", "f(y)", "Recon f", "outside w", "Norm", "Domain", "Kind", "Erase", "--")
"""Symbols and terms a clinician does not read: labels use words, tooltips keep the exact term."""


def _shown_texts(panel) -> list[str]:
    texts = [w.text() for cls in (QLabel, QAbstractButton) for w in panel.findChildren(cls)]
    for box in panel.findChildren(QComboBox):
        texts += [box.itemText(i) for i in range(box.count())]
    return [t for t in texts if t]


def _label(panel, text: str) -> QLabel:
    (label,) = [w for w in panel.findChildren(QLabel) if w.text() == text]
    return label


@pytest.mark.parametrize("kind", ["mri", "ct"])
def test_labels_are_words_and_tooltips_keep_the_exact_terms(qtbot, session, kind):
    panels = {cls: make(qtbot, cls, session) for cls in (ThreatPanel, ObjectivePanel, OptimizerPanel, OperatorPanel,
                                                          ScanPanel, HistoryPanel)}
    session.update(operator={"kind": kind, "noise": {"kind": "gaussian", "sigma": 0.01, "relative": True}},
                   objective={"kind": "insert"})
    for panel in panels.values():
        for text in _shown_texts(panel):
            assert not any(term in text for term in JARGON), text
    threat, objective = panels[ThreatPanel], panels[ObjectivePanel]
    exact = {threat: {"Limit": "‖δ‖∞", "Budget": "‖δ‖ / ‖y‖", "Budget in": "‖y‖", "Where": "domain"},
             objective: {"Keep the rest unchanged": "weight w", "Brightness": "\"intensity\""},
             panels[OptimizerPanel]: {"Step size": "step size α"},
             panels[OperatorPanel]: {"Noise level": "σ", "Scan type": "operator A"},
             panels[ScanPanel]: {"Window": "W = width, L = level"}}
    for panel, rows in exact.items():
        for text, term in rows.items():
            assert term in _label(panel, text).toolTip(), text
    assert threat.mode.currentText() == "% of the measurement's size"
    assert objective.kind.itemText(objective.kind.findData("untargeted")) == "change anything"


def test_switching_budget_units_keeps_the_budget(qtbot, session):
    panel = make(qtbot, ThreatPanel, session)
    y = torch.tensor([[[3.0 + 4.0j, 0.0], [0.0, 12.0]]])  # ‖y‖₂ = 13, ‖y‖∞ = 12
    session.preview = SimpleNamespace(y=y, x_true=torch.ones(1, 2, 2))
    session.update(threat={"eps": 0.02, "eps_mode": "relative"})
    choose(panel.mode, "absolute")
    threat = session.experiment.threat
    assert (threat.eps_mode, threat.eps) == ("absolute", pytest.approx(0.26))
    assert panel.mode.currentText() == "absolute (in the measurement's units)"
    session.update(threat={"norm": "linf"})
    choose(panel.mode, "relative")
    assert session.experiment.threat.eps == pytest.approx(0.26 / 12)
    assert panel.mode.currentText() == "% of the measurement's largest value"


def test_the_model_panel_names_the_reconstruction_in_words(qtbot, session):
    from halluview.gui.panels import ModelPanel

    panel = make(qtbot, ModelPanel, session)
    labels = [w.text() for w in panel.findChildren(QLabel)]
    assert "Recon f" not in labels and "Reconstruction" in labels and "Attacked via" in labels
    assert "f(y)" in _label(panel, "Reconstruction").toolTip()
