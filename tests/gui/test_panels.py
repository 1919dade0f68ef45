"""The side panels: each writes its edits into session.experiment, refreshes without re-emitting, and shows the
numbers of the step / result objects exactly (the expected strings here are written out by hand)."""

import numpy as np
import pytest
from PySide6.QtCore import Qt

from halluview.core.attacks.run import AttackResult, AttackStep
from halluview.core.physics.noise import make_noise
from halluview.core.scan import Scan
from halluview.gui.panels import (
    HistoryPanel,
    MetricsPanel,
    ModelPanel,
    ObjectivePanel,
    OperatorPanel,
    OptimizerPanel,
    ScanPanel,
    ThreatPanel,
)
from halluview.gui.panels import model_panel as model_module
from halluview.gui.presets import ct_windows, presets_for
from halluview.gui.session import RunRecord, Session
from halluview.gui.theme import ACCENT


@pytest.fixture
def session(qtbot, monkeypatch):
    session = Session()
    monkeypatch.setattr(session, "request_preview", lambda: None)  # no background reconstruction in these tests
    return session


def make(qtbot, cls, session):
    qtbot.addWidget(panel := cls(session))
    return panel


def choose(combo, data):
    """What a user's pick does: select the item and emit ``activated``."""
    assert (index := combo.findData(data)) >= 0, data
    combo.setCurrentIndex(index)
    combo.activated.emit(index)


def ct_scan(units="HU", window=(40.0, 80.0)):
    return Scan(volume=np.zeros((5, 16, 12), np.float32), modality="CT", units=units, spacing_mm=(2.5, 0.7, 0.7),
                source="/data/head.dcm", window=window, meta={"SeriesDescription": "HEAD STND"})


def test_refresh_from_session_does_not_emit_again(qtbot, session):
    p = {cls: make(qtbot, cls, session) for cls in (ScanPanel, OperatorPanel, ModelPanel, ThreatPanel, ObjectivePanel,
                                                     OptimizerPanel, HistoryPanel, MetricsPanel)}
    emitted = []
    session.settingsChanged.connect(lambda: emitted.append(1))
    session.update(threat={"eps": 0.03, "norm": "linf", "domain": "image"}, operator={"kind": "ct", "n_angles": 60},
                   objective={"kind": "insert", "outside_weight": 2.5, "lesion": {"intensity": 0.7}},
                   optimizer={"method": "adam", "steps": 7, "step_size": 0.2}, recon={"name": "tv"}, seed=5)
    assert emitted == [1]  # one update, one signal: no panel wrote back while refreshing
    assert (p[ThreatPanel].eps.value(), p[ThreatPanel].linf.isChecked(), p[OperatorPanel].n_angles.value()) \
        == (3.0, True, 60)
    assert (p[ObjectivePanel].weight.value(), p[ObjectivePanel].intensity.value(), p[OptimizerPanel].seed.value(),
            p[OptimizerPanel].method.currentData(), p[ModelPanel].picker.currentData()) == (2.5, 0.7, 5, "adam", "tv")


def test_threat_panel_writes_settings_and_presets(qtbot, session):
    panel = make(qtbot, ThreatPanel, session)
    panel.linf.click()
    assert session.experiment.threat.norm == "linf"
    panel.eps.setValue(2.5)
    assert session.experiment.threat.eps == pytest.approx(0.025)
    choose(panel.domain, "image")
    assert session.experiment.threat.domain == "image"  # L∞: a percentage of max |x|
    assert panel.mode.currentText() == "% of the image's largest value" and panel.eps.suffix() == " %"
    choose(panel.domain, "patch")
    panel.patch_area.setValue(200)
    threat = session.experiment.threat
    assert threat.patch_area_px == 200 and panel.eps.isEnabled()  # a patch takes the norm and ε like any threat
    assert panel.mode.currentText() == "% of the image's largest value"
    session.update(threat={"eps_mode": "absolute", "eps": 3.0, "domain": "measurement"})  # presets: relative again
    assert [b.text() for b in panel.preset_buttons] == ["0.25 %", "0.5 %", "1 %", "2.5 %", "8 %"]
    for button, eps in zip(panel.preset_buttons, [0.0025, 0.005, 0.01, 0.025, 0.08]):
        qtbot.mouseClick(button, Qt.LeftButton)
        assert (session.experiment.threat.eps, session.experiment.threat.eps_mode) == (pytest.approx(eps), "relative")
        assert panel.eps.value() == pytest.approx(eps * 100)
    assert "percentage of its size" in panel.eps.toolTip()
    panel.eps_slider.setValue(panel.eps_slider.maximum())  # the slider is logarithmic: 0.01 % … 20 %
    assert session.experiment.threat.eps == pytest.approx(0.2)
    panel.eps_slider.setValue(0)
    assert session.experiment.threat.eps == pytest.approx(1e-4)


def test_operator_panel_rows_and_settings(qtbot, session):
    panel = make(qtbot, OperatorPanel, session)
    choose(panel.acceleration, 8.0)
    panel.center.setValue(0.04)
    choose(panel.mask, "equispaced")
    panel.coils.setValue(8)
    op = session.experiment.operator
    assert (op.acceleration, op.center_fraction, op.mask_type, op.n_coils) == (8.0, 0.04, "equispaced", 8)
    choose(panel.noise, "gaussian")
    panel.sigma.setValue(2.0)
    assert session.experiment.operator.noise == {"kind": "gaussian", "sigma": 0.02, "relative": True}
    assert panel.noise.findData("poisson_transmission") < 0  # MRI noise is Gaussian
    choose(panel.kind, "ct")
    choose(panel.noise, "poisson_transmission")
    panel.flux.setValue(20000)
    noise = session.experiment.operator.noise
    assert noise["incident_flux"] == 20000 and make_noise(noise).config()["kind"] == "poisson_transmission"
    choose(panel.kind, "mri")
    assert session.experiment.operator.noise is None  # no Poisson transmission noise on k-space
    mri_rows, ct_rows = (panel.acceleration, panel.center, panel.mask, panel.coils), (panel.angles, panel.n_angles)
    assert all(w.isVisibleTo(panel) for w in mri_rows) and not any(w.isVisibleTo(panel) for w in ct_rows)
    choose(panel.kind, "ct")  # the U-Net reads MRI only: CT opens with the CT model and the views it was made for
    op = session.experiment.operator
    assert (op.kind, session.experiment.recon.name, op.angles, op.n_angles) == ("ct", "fbpconvnet-ct-sparse",
                                                                                "sparse", 30)
    assert all(w.isVisibleTo(panel) for w in ct_rows) and not any(w.isVisibleTo(panel) for w in mri_rows)
    assert not panel.max_angle.isVisibleTo(panel)
    choose(panel.angles, "limited")
    panel.max_angle.setValue(120)
    assert (session.experiment.operator.angles, session.experiment.operator.max_angle_deg) == ("limited", 120)
    choose(panel.kind, "denoise")
    assert not any(w.isVisibleTo(panel) for w in mri_rows + ct_rows)


def test_model_panel_picks_and_parameters(qtbot, session):
    panel = make(qtbot, ModelPanel, session)
    assert "U-Net" in panel.picker.currentText()
    choose(panel.picker, "tv")
    assert session.experiment.recon.name == "tv"
    assert panel.lam.isVisibleTo(panel) and not panel.threshold.isVisibleTo(panel)
    panel.lam.setValue(0.05)
    panel.iterations.setValue(30)
    assert session.experiment.recon.params == {"lam": 0.05, "n_iter": 30}
    choose(panel.picker, "wavelet")
    panel.threshold.setValue(0.1)
    assert session.experiment.recon.params == {"threshold": 0.1, "wavelet": "db4", "levels": 3, "n_iter": 50}
    session.update(operator={"kind": "ct"})
    choose(panel.picker, model_module.BASELINE)
    assert session.experiment.recon.name == "fbp"
    assert not panel.picker.model().item(panel.picker.findData("unet-mri-4x")).isEnabled()  # MRI model, CT scan


def test_model_panel_transfer_from_a_surrogate(qtbot, session):
    panel = make(qtbot, ModelPanel, session)
    surrogates = panel.surrogate.model()
    assert not surrogates.item(panel.surrogate.findData("unet-mri-4x")).isEnabled()  # the attacked model itself
    assert not surrogates.item(panel.surrogate.findData("fbpconvnet-ct-sparse")).isEnabled()  # CT, not MRI
    choose(panel.surrogate, "dncnn-mri-4x")
    assert session.experiment.surrogate == "dncnn-mri-4x"
    choose(panel.picker, "dncnn-mri-4x")  # the surrogate became the target: a direct attack again
    assert session.experiment.surrogate is None and panel.surrogate.currentData() is None
    choose(panel.picker, "deep-decoder-mri-4x")  # too slow to attack at every step: by transfer unless changed
    assert session.experiment.surrogate == "unet-mri-4x" and panel.surrogate.currentData() == "unet-mri-4x"
    choose(panel.surrogate, None)
    assert session.experiment.surrogate is None
    choose(panel.picker, "tv")
    choose(panel.surrogate, "unet-mri-4x")
    session.update(operator={"kind": "ct"}, recon={"name": "fbp"})  # an MRI surrogate cannot read a sinogram
    assert session.experiment.surrogate is None


def test_objective_panel_writes_settings(qtbot, session):
    panel = make(qtbot, ObjectivePanel, session)
    assert panel.against.isVisibleTo(panel) and not panel.weight_row.isVisibleTo(panel)
    choose(panel.against, "reference")
    choose(panel.kind, "region")
    assert session.experiment.objective.against == "reference"
    assert not panel.against.isVisibleTo(panel) and panel.weight_row.isVisibleTo(panel)
    panel.weight.setValue(3.5)
    assert (session.experiment.objective.outside_weight, panel.weight_slider.value()) == (pytest.approx(3.5), 35)
    panel.weight_slider.setValue(70)
    assert session.experiment.objective.outside_weight == pytest.approx(7.0)
    session.update(objective={"kind": "insert", "lesion": {"shape": "disc", "radius_px": 3}})
    panel.auto_intensity.setChecked(False)
    panel.intensity.setValue(0.8)
    assert session.experiment.objective.lesion == {"shape": "disc", "radius_px": 3, "intensity": 0.8}
    panel.auto_intensity.setChecked(True)
    assert session.experiment.objective.lesion == {"shape": "disc", "radius_px": 3}


def test_optimizer_panel_writes_settings(qtbot, session):
    panel = make(qtbot, OptimizerPanel, session)
    assert panel.step_size.value() == pytest.approx(2.0) and not panel.step_size.isEnabled()  # Auto-PGD's 2ε
    session.update(objective={"kind": "insert"}, region={"kind": "rect", "xywh": [1, 1, 4, 4]})
    assert panel.step_size.value() == pytest.approx(0.025)  # a target inside the budget: a small first step
    session.update(objective={"kind": "untargeted"}, region=None)
    choose(panel.schedule, "constant")
    assert panel.step_size.value() == pytest.approx(0.025)  # Madry et al.'s 2.5ε / 100 steps
    choose(panel.method, "adam")
    panel.steps.setValue(50)
    choose(panel.schedule, "cosine")
    panel.random_start.setChecked(True)
    panel.restarts.setValue(3)
    panel.auto_step.setChecked(False)
    panel.step_size.setValue(0.1)
    config = session.experiment.optimizer
    assert (config.method, config.steps, config.schedule, config.random_start, config.restarts, config.step_size) \
        == ("adam", 50, "cosine", True, 3, pytest.approx(0.1))
    panel.auto_step.setChecked(True)
    assert session.experiment.optimizer.step_size is None
    panel.seed.setValue(11)
    choose(panel.device, "cpu")
    assert (session.experiment.seed, session.experiment.device) == (11, "cpu")


def test_scan_panel_info_slice_and_ct_presets(qtbot, session):
    panel = make(qtbot, ScanPanel, session)
    session.scan, session.slice_index = ct_scan(), 2
    session.scanChanged.emit()
    info = [panel.info[k].text() for k in ("file", "series", "size")]
    assert info == ["head.dcm", "HEAD STND", "12 × 16 px, 5 slices"]
    assert panel.slice_spin.maximum() == 4 and panel.slice_slider.value() == 2
    panel.slice_spin.setValue(3)
    assert session.slice_index == 3 and panel.slice_slider.value() == 3
    for name in ("Brain", "File default"):  # both W 80, L 40
        with qtbot.waitSignal(panel.presetChosen, timeout=1000) as blocker:
            panel.choose_window(name)
        assert blocker.args == [80.0, 40.0]
    session.scan = ct_scan(units="a.u.", window=None)
    session.scanChanged.emit()
    assert [panel.window.itemText(i) for i in range(panel.window.count())] == ["Auto (fit the image)"]
    with qtbot.waitSignal(panel.autoWindowRequested, timeout=1000):
        panel.choose_window("Auto")
    assert "Radiopaedia" in (windows := ct_windows()).source
    by_name = {p.name: (p.width_hu, p.level_hu) for p in windows.presets}
    assert by_name["Brain"] == (80, 40) and by_name["Lung"] == (1500, -600) and by_name["Liver"] == (150, 30)
    assert presets_for(session.scan) == () and presets_for(ct_scan()) == windows.presets


def metrics_dict(scale: float) -> dict:
    return {"ssim": 0.912345 * scale, "psnr": 31.2345, "mse": 1.234e-4, "nmse": 0.0123,
            "ssim_in": 0.61149 * scale, "psnr_in": 22.1, "mse_in": 0.002, "nmse_in": 0.05,
            "ssim_out": 0.99999, "psnr_out": float("inf"), "mse_out": 0.0, "nmse_out": 2.5}


def fake_step(step: int, scale: float = 1.0) -> AttackStep:
    reference = {"ssim": 0.8741, "psnr": 28.0, "mse": 0.0456, "nmse": 0.111}
    return AttackStep(step=step, total=10, restart=0, objective=1.5 * step, realised_eps=0.0099,
                      metrics={"vs_clean": metrics_dict(scale), "vs_reference": reference}, elapsed_s=0.5 * step)


def table_text(panel) -> list[list[str]]:
    return [[panel.table.item(r, c).text() for c in range(5)] for r in range(4)]


def test_metrics_table_shows_the_step_numbers_in_place(qtbot, session):
    panel = make(qtbot, MetricsPanel, session)
    items = [[panel.table.item(r, c) for c in range(5)] for r in range(4)]
    panel.show_step(fake_step(1), {"eps_mode": "relative", "domain": "measurement"})
    assert table_text(panel) == [["0.9123", "0.8741", "0.6115", "1.0000", "…"],
                                 ["31.23", "28.00", "22.10", "∞", "…"],
                                 ["1.23e-04", "0.0456", "0.00200", "0", "…"],
                                 ["0.0123", "0.111", "0.0500", "2.50", "…"]]
    assert "0.99 % of the measurement's size" in panel.status.text() and "2 steps/s" in panel.status.text()
    panel.show_step(fake_step(2, scale=0.5))
    assert table_text(panel)[0][:3] == ["0.4562", "0.8741", "0.3057"]
    assert all(panel.table.item(r, c) is items[r][c] for r in range(4) for c in range(5))  # the same items
    qtbot.waitUntil(lambda: panel.objective_curve.getData()[0] is not None and  # curves redraw at a few Hz
                    len(panel.objective_curve.getData()[0]) == 2, timeout=2000)
    steps, objective = panel.objective_curve.getData()
    assert list(steps) == [1, 2] and list(objective) == [1.5, 3.0]
    assert list(panel.ssim_curve.getData()[1]) == pytest.approx([0.61149, 0.305745])  # the in-region SSIM

    noise = {"vs_clean": {"ssim": 0.99512, "psnr": 45.678, "mse": 2.0e-5, "nmse": 0.000999}}
    images = dict.fromkeys(("delta", "perturbed", "clean", "perturbation_image"), np.zeros((2, 2)))
    result = AttackResult(**images, metrics=fake_step(1).metrics, noise_metrics=noise, norms={"realised_eps": 0.01},
                          history=[{}, {}], config={}, seconds=1.0)
    panel.show_result(result)
    assert [row[4] for row in table_text(panel)] == ["0.9951", "45.68", "2.00e-05", "9.99e-04"]
    assert table_text(panel)[0][0] == "0.9123" and "1 % of the measurement's size" in panel.status.text()
    assert "realised ε = 1 % ‖y‖" in panel.status.toolTip()  # the exact term for researchers
    assert panel.verdict.isHidden()  # a result without a verdict shows none
    panel.clear()
    assert {text for row in table_text(panel) for text in row} == {"—"}
    steps, _ = panel.objective_curve.getData()
    assert steps is None or len(steps) == 0


def test_metrics_panel_says_when_an_attack_found_nothing(qtbot, session):
    from halluview.core.attacks.verdict import assess

    panel = make(qtbot, MetricsPanel, session)
    images = {name: np.zeros((8, 8), np.float32) for name in ("delta", "perturbed", "clean", "perturbation_image")}
    failed = assess("region", {"attack": -1.0, "clean": 0.0, "noise_mean": -0.5}, {"attack": 1.0, "noise": 1.0}, 0.3)
    result = AttackResult(**images, metrics=fake_step(1).metrics, noise_metrics=fake_step(1).metrics,
                          norms={"realised_eps": 0.003}, history=[{}], config={}, seconds=1.0, verdict=failed)
    panel.show_result(result)
    text = panel.verdict.text()
    assert not panel.verdict.isHidden() and "No worst case found: the attack did not improve" in text
    assert "used only 30% of its budget" in text and ACCENT in text  # in the warning colour
    assert "best of 1 step " in panel.status.text() + " "
    found = assess("untargeted", {"attack": 9.0, "clean": 0.0, "noise_mean": 1.0}, {"attack": 6.7, "noise": 1.0}, 1.0)
    panel.show_result(AttackResult(**images, metrics=fake_step(1).metrics, noise_metrics=fake_step(1).metrics,
                                   norms={"realised_eps": 0.01}, history=[{}], config={}, seconds=1.0, verdict=found))
    text = panel.verdict.text()
    assert "changed the image 6.7× more than random noise" in text and ACCENT not in text


def test_metrics_panel_follows_the_session_runs(qtbot, session):
    panel = make(qtbot, MetricsPanel, session)
    first, second = (RunRecord(n, session.experiment.to_dict()) for n in (1, 2))
    session.runStarted.emit(first)
    step = fake_step(1)
    first.steps, first.last_step = [step.summary()], step
    session.stepArrived.emit((first, step))
    session.runStarted.emit(second)
    assert table_text(panel)[0][0] == "—"
    session.stepArrived.emit((first, fake_step(2)))  # not the shown run: ignored
    assert table_text(panel)[0][0] == "—"
    session.select_run(first)
    assert table_text(panel)[0][0] == "0.9123" and list(panel.objective_curve.getData()[0]) == [1]


def test_history_lists_selects_and_compares(qtbot, session):
    panel = make(qtbot, HistoryPanel, session)
    session.runs = [RunRecord(n, session.experiment.to_dict(), status="done") for n in (1, 2, 3)]
    session.historyChanged.emit()
    assert [panel.list.item(i).text() for i in range(3)] == [r.label for r in session.runs]
    assert panel.list.item(0).text().startswith("#1 unet-mri-4x · L2 ε 1 %")
    rect = panel.list.visualItemRect(panel.list.item(1))
    qtbot.mouseClick(panel.list.viewport(), Qt.LeftButton, pos=rect.center())
    assert session.selected is session.runs[1] and not panel.compare_button.isEnabled()
    panel.list.item(2).setSelected(True)
    assert panel.compare_button.isEnabled() and panel.compare_action.isEnabled()
    panel.list.item(0).setSelected(True)
    assert not panel.compare_button.isEnabled()  # compare exactly two
    panel.list.item(0).setSelected(False)
    with qtbot.waitSignal(panel.compareRequested, timeout=1000) as blocker:
        panel.compare_button.click()
    assert blocker.args[0] is session.runs[1] and blocker.args[1] is session.runs[2]
