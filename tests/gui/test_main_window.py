"""The main window end to end (offscreen): open scans, draw, run a CPU attack, cancel, close, export."""
import json

import numpy as np
import pytest
from PySide6.QtCore import Qt, QThreadPool
from window_helpers import FAST, TIMEOUT_MS, open_and_wait, run_and_wait  # noqa: F401

from halluview.core.attacks.run import run_to_end
from halluview.core.experiment import Experiment
from halluview.core.problem import build_problem
from halluview.gui.main_window import MainWindow
from halluview.gui.panels.metrics_table import format_metric


def test_opens_the_example_and_shows_the_clean_reconstruction(qtbot, window):
    open_and_wait(qtbot, window, window.open_sample, "brain")
    shown = window.panels.images["clean"].image
    np.testing.assert_array_equal(shown, window.session.preview.clean[0].numpy())
    assert window.windowTitle() == "HalluView — demo:brain"


def test_run_shows_exactly_the_numbers_the_cli_computes(qtbot, window):
    open_and_wait(qtbot, window, window.open_sample, "brain")
    window.drawing.add_shape({"kind": "rect", "xywh": [50, 50, 16, 12]})
    window.session.update(objective={"kind": "region"})
    record = run_and_wait(qtbot, window)
    assert record.status == "done" and record.experiment["region"] == {"kind": "rect", "xywh": [50, 50, 16, 12]}
    # The same configuration through the core (what halluview-cli runs) gives identical numbers.
    again = run_to_end(build_problem(Experiment.from_dict(record.experiment)))
    assert again.metrics == record.result.metrics
    np.testing.assert_array_equal(again.delta, record.result.delta)
    table = window.metrics_panel.table
    ssim_row = 0
    assert table.item(ssim_row, 0).text() == format_metric("ssim", record.result.metrics["vs_clean"]["ssim"])
    assert table.item(ssim_row, 2).text() == format_metric("ssim", record.result.metrics["vs_clean"]["ssim_in"])
    noise_in_region = record.result.noise_metrics["vs_clean"]["ssim_in"]  # noise judged where the attack aimed
    assert table.item(ssim_row, 4).text() == format_metric("ssim", noise_in_region)
    assert table.horizontalHeaderItem(4).text() == "noise, in region"
    assert record.result.metrics["vs_clean"]["ssim_in"] < noise_in_region
    np.testing.assert_allclose(window.panels.images["perturbed"].image, record.result.perturbed)
    assert window.history_panel.records() == [record]


def test_cancel_mid_run_stops_cleanly(qtbot, window):
    open_and_wait(qtbot, window, window.open_sample, "brain")
    window.session.update(optimizer={"steps": 5000})
    with qtbot.waitSignal(window.session.stepArrived, timeout=TIMEOUT_MS):
        window.run_attack()
    assert window.actions_by_name["cancel"].isEnabled() and not window.actions_by_name["run"].isEnabled()
    with qtbot.waitSignal(window.session.runEnded, timeout=TIMEOUT_MS) as blocker:
        window.actions_by_name["cancel"].trigger()
    assert blocker.args[0].status == "cancelled" and len(blocker.args[0].steps) < 5000
    qtbot.waitUntil(lambda: window.actions_by_name["run"].isEnabled(), timeout=TIMEOUT_MS)


def test_close_during_an_attack_asks_then_stops_the_worker(qtbot, window, monkeypatch):
    open_and_wait(qtbot, window, window.open_sample, "brain")
    window.session.update(optimizer={"steps": 5000})
    with qtbot.waitSignal(window.session.stepArrived, timeout=TIMEOUT_MS):
        window.run_attack()
    asked = []
    monkeypatch.setattr(window, "_confirm_close", lambda **_: asked.append(True) or False)
    assert not window.close() and window.session.jobs.attack_running  # "no": keeps running
    monkeypatch.setattr(window, "_confirm_close", lambda **_: asked.append(True) or True)
    assert window.close()
    assert asked == [True, True]
    assert QThreadPool.globalInstance().activeThreadCount() == 0  # the worker has stopped, not just been asked
    qtbot.waitUntil(lambda: not window.session.jobs.attack_running, timeout=TIMEOUT_MS)


def test_opens_dicom_nifti_numpy_and_fastmri(qtbot, window, tmp_path, monkeypatch):
    from fastmri_fixture import phantom_volume, write_fastmri_h5
    from PySide6.QtWidgets import QInputDialog

    offered = []
    monkeypatch.setattr(QInputDialog, "getItem", staticmethod(
        lambda parent, title, text, items, *rest: offered.append(list(items)) or (items[0], True)))
    from nibabel.testing import data_path
    from pydicom.data import get_testdata_file

    np.save(tmp_path / "slices.npy", np.random.default_rng(0).random((3, 40, 40)).astype(np.float32))
    fastmri = write_fastmri_h5(tmp_path / "knee.h5", phantom_volume(2, 32, 24), n_coils=None, acceleration=1)
    for path, modality in ((get_testdata_file("CT_small.dcm", download=False), "CT"),
                           (f"{data_path}/anatomical.nii", None), (tmp_path / "slices.npy", None),
                           (fastmri.path, None)):
        open_and_wait(qtbot, window, window.open_path, str(path))
        assert window.session.scan.source == str(path)
        if modality:
            assert window.session.scan.modality == modality
    assert window.session.preview.clean.shape[-2:] == (32, 24)  # fastMRI: shown at the recon size
    assert window.session.scan.kspace is not None
    assert len(offered) == 1 and offered[0][0].startswith("fastMRI k-space")  # the chooser came up once


def test_a_bad_file_is_an_error_message_not_a_crash(qtbot, window, tmp_path):
    bad = tmp_path / "broken.dcm"
    bad.write_bytes(b"DICM" * 10)
    with qtbot.waitSignal(window.session.errorOccurred, timeout=TIMEOUT_MS) as blocker:
        window.open_path(str(bad))
    assert "broken.dcm" in blocker.args[0]
    open_and_wait(qtbot, window, window.open_sample, "brain")  # and the app keeps working


def test_slice_keys_and_wheel_step_through_a_volume(qtbot, window, tmp_path):
    np.save(tmp_path / "vol.npy", np.random.default_rng(1).random((5, 32, 32)).astype(np.float32))
    open_and_wait(qtbot, window, window.open_path, str(tmp_path / "vol.npy"))
    assert window.session.slice_index == 2
    with qtbot.waitSignal(window.session.previewReady, timeout=TIMEOUT_MS):
        window.panels.wheelSlice.emit(1)
    assert window.session.slice_index == 3


def test_exports_and_session_round_trip(qtbot, window, tmp_path):
    open_and_wait(qtbot, window, window.open_sample, "ct-small")
    window.drawing.add_shape({"kind": "ellipse", "xywh": [40, 40, 20, 20]})
    record = run_and_wait(qtbot, window)
    from halluview.gui import export

    export.export_png(window, str(tmp_path / "panels.png"))
    export.export_report(window, str(tmp_path))
    export.export_nifti(window, str(tmp_path / "perturbed.nii.gz"))
    export.export_dicom(window, str(tmp_path / "dicom"))
    export.export_dicom(window, str(tmp_path / "study"), copy_identifying=True)
    import pydicom
    from pydicom.data import get_testdata_file

    source = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    joined = pydicom.dcmread(next((tmp_path / "study").iterdir()))
    assert joined.SourceImageSequence[0].ReferencedSOPInstanceUID == source.SOPInstanceUID
    assert joined.StudyInstanceUID == source.StudyInstanceUID and joined.PatientID == source.PatientID
    assert (tmp_path / "panels.png").stat().st_size > 1000
    report = json.loads((tmp_path / f"run-{record.number}" / "report.json").read_text())
    assert report["norms"]["recon_change_l2"] == pytest.approx(record.result.norms["recon_change_l2"])
    from halluview.core.io import read_scan

    nifti = read_scan(tmp_path / "perturbed.nii.gz")
    dicom = read_scan(tmp_path / "dicom")
    expected_hu = record.result.perturbed * 1000 - 1000
    np.testing.assert_allclose(dicom.volume[0], expected_hu, atol=1.0)  # int16 HU with rescale
    assert nifti.volume.shape[1:] == expected_hu.shape
    export.save_session(window, str(tmp_path / "s.json"))
    saved = json.loads((tmp_path / "s.json").read_text())
    assert saved["regions"] == [{"kind": "ellipse", "xywh": [40, 40, 20, 20]}] and len(saved["runs"]) == 1
    fresh = MainWindow()
    qtbot.addWidget(fresh)
    with qtbot.waitSignal(fresh.session.previewReady, timeout=TIMEOUT_MS):
        export.open_session(fresh, str(tmp_path / "s.json"))
    assert fresh.session.experiment.recon.name == record.experiment["recon"]["name"] == "fbpconvnet-ct-sparse"
    assert fresh.session.regions.shapes == [{"kind": "ellipse", "xywh": [40, 40, 20, 20]}]
    assert fresh.session.scan.modality == "CT"


def test_right_panels_change_the_run_configuration(qtbot, window):
    open_and_wait(qtbot, window, window.open_sample, "brain")
    window.threat_panel.choose_preset(2.5)
    assert window.session.run_experiment().threat.eps == pytest.approx(0.025)
    window.show()
    qtbot.waitExposed(window)
    window.windowHandle().requestActivate()
    qtbot.waitUntil(window.isActiveWindow, timeout=2000)
    qtbot.keyClick(window.panels, Qt.Key_R)  # the rectangle tool's shortcut (buttons animate the click)
    qtbot.waitUntil(lambda: window.drawing.tool == "rect", timeout=2000)


def test_settings_changed_during_an_attack_preview_after_it(qtbot, window):
    open_and_wait(qtbot, window, window.open_sample, "brain")
    window.session.update(optimizer={"steps": 5000})
    with qtbot.waitSignal(window.session.stepArrived, timeout=TIMEOUT_MS):
        window.run_attack()
    previews = []
    window.session.previewReady.connect(previews.append)
    window.session.update(operator={"acceleration": 8.0})
    qtbot.wait(300)
    assert previews == []  # the attack owns the device
    with qtbot.waitSignal(window.session.previewReady, timeout=TIMEOUT_MS):
        window.session.jobs.cancel()
    assert window.session.preview.config["operator"]["acceleration"] == 8.0


def test_presentation_mode_plays_the_demo_and_any_key_stops_it(qtbot, window, monkeypatch):
    from halluview.gui import presentation

    monkeypatch.setattr(presentation, "PAUSE_MS", 50)
    window.show()
    qtbot.waitExposed(window)
    window.session.update(optimizer={"steps": 3})
    window.actions_by_name["presentation"].trigger()
    assert window.isFullScreen() and window._tour.active
    with qtbot.waitSignal(window.session.runEnded, timeout=TIMEOUT_MS) as blocker:
        pass  # the tour opens the example, draws its region and runs the attack by itself
    assert blocker.args[0].experiment["region"] is not None
    assert blocker.args[0].experiment["objective"]["kind"] == "insert"
    qtbot.keyClick(window, Qt.Key_A)
    assert not window._tour.active
    window.actions_by_name["presentation"].trigger()  # F11 again: back to the normal window
    assert not window.presenting
    qtbot.waitUntil(lambda: not window.isFullScreen(), timeout=5000)


def test_opening_a_ct_scan_switches_to_ct_acquisition_and_back(qtbot, window):
    open_and_wait(qtbot, window, window.open_sample, "ct-small")
    experiment = window.session.experiment
    assert (experiment.operator.kind, experiment.recon.name) == ("ct", "fbpconvnet-ct-sparse")
    assert experiment.operator.n_angles == 30  # the views the CT model was trained for
    open_and_wait(qtbot, window, window.open_sample, "brain")
    experiment = window.session.experiment
    assert (experiment.operator.kind, experiment.recon.name) == ("mri", "unet-mri-4x")


def test_picking_a_builtin_model_brings_its_acquisition(window):
    window.session.update(recon={"name": "varnet-mri-4x-4coil"})
    assert window.session.experiment.operator.n_coils == 4
    window.session.update(recon={"name": "unet-mri-4x"})
    assert window.session.experiment.operator.n_coils == 1
    window.session.update(recon={"name": "zero-filled"}, operator={"n_coils": 6})
    assert window.session.experiment.operator.n_coils == 6
    window.session.update(operator={"kind": "ct"}, recon={"name": "redcnn-ct-lowdose"})
    op = window.session.experiment.operator
    assert (op.n_angles, op.noise["kind"], op.noise["incident_flux"]) == (180, "poisson_transmission", 3000.0)
