"""The app shows VIF, segment RMSE, RFS and the change's high-frequency share of a finished run (attack against noise,
"—" while it runs), says which segments they ran over and where MaxSRMSE is, and takes a label file for the segments
from Attack › Segments, refusing one that does not fit this slice before any attack runs."""
import numpy as np
import pytest
from PySide6.QtWidgets import QFileDialog
from window_helpers import open_and_wait, run_and_wait

from halluview.core.attacks.run import AttackResult
from halluview.core.io.writers import write_nifti
from halluview.gui import segments_choice
from halluview.gui.panels.metrics_panel import MetricsPanel
from halluview.gui.panels.metrics_table import ROWS, format_metric
from halluview.gui.session import Session

ROW = {key: row for row, (key, _, _) in enumerate(ROWS)}


def texts(panel, key: str) -> list[str]:
    return [panel.table.item(ROW[key], col).text() for col in range(5)]


@pytest.fixture
def errors(monkeypatch):
    said = []
    monkeypatch.setattr(segments_choice, "show_error", lambda parent, message, *a: said.append(message))
    return said


def test_a_finished_run_shows_the_clinical_rows_against_noise(qtbot, window):
    open_and_wait(qtbot, window, window.open_sample, "brain")
    seen = []
    window.session.stepArrived.connect(lambda payload: seen.append(texts(window.metrics_panel, "vif")))
    result = run_and_wait(qtbot, window).result
    assert seen and seen[0][:2] == ["—", "—"]  # computed once, at the end
    panel = window.metrics_panel
    attack, noise = result.metrics, result.noise_metrics["vs_clean"]
    for key in ("vif", "srmse_mean", "srmse_max", "rfs"):
        assert texts(panel, key) == [format_metric(key, attack["vs_clean"][key]),
                                     format_metric(key, attack["vs_reference"][key]), "—", "—",
                                     format_metric(key, noise[key])]
    assert texts(panel, "hf_share") == [f"{result.norms['change_hf_share']:.2f}", "—", "—", "—",
                                        f"{result.norms['noise_change_hf_share_mean']:.2f}"]
    count = result.clinical["segmentation"]["segments"]
    assert f"Computed over {count} segments of the reference (automatic" in \
        panel.table.verticalHeaderItem(ROW["srmse_max"]).toolTip()
    assert "when the attack ends" in panel.table.verticalHeaderItem(ROW["vif"]).toolTip()
    worst = result.clinical["worst_segment"]["vs_clean"]
    assert not panel.where.isHidden()
    assert f"{worst['pixels']} pixels around row {worst['row']:.0f}, column {worst['column']:.0f}" in \
        panel.where.text()


def test_a_label_file_is_checked_when_chosen_and_used_by_the_run(qtbot, window, tmp_path, errors, monkeypatch):
    open_and_wait(qtbot, window, window.open_sample, "brain")
    shape = window.session.preview.clean.shape[-2:]
    labels = np.zeros((1, *shape), np.int16)
    labels[0, 10:30, 10:30], labels[0, 30:50, 20:50] = 1, 2
    good = write_nifti(tmp_path / "labels.nii.gz", labels)
    wrong = write_nifti(tmp_path / "small.nii.gz", labels[:, :20, :20])
    chosen = iter([str(wrong), str(good), str(good)])
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (next(chosen), ""))
    load, automatic = (window.actions_by_name[name] for name in ("load_segments", "automatic_segments"))
    load.trigger()
    assert errors == [f"{wrong}: the label map is 20×20, the slice is {shape[0]}×{shape[1]}"]
    assert window.session.experiment.segments is None and automatic.isChecked() and not load.isChecked()
    load.trigger()
    assert window.session.experiment.segments == str(good) and load.isChecked() and "labels.nii.gz" in load.text()
    result = run_and_wait(qtbot, window).result
    assert result.clinical["segmentation"]["segments"] == 2
    assert "label file labels.nii.gz" in window.metrics_panel.table.verticalHeaderItem(ROW["rfs"]).toolTip()
    automatic.trigger()
    assert window.session.experiment.segments is None and automatic.isChecked()
    load.trigger()  # the good file again (the dialog's last answer)
    open_and_wait(qtbot, window, window.open_sample, "ellipses")
    assert window.session.experiment.segments is None  # a label file belongs to its scan


def test_a_label_file_that_no_longer_fits_costs_no_attack(qtbot, window, tmp_path, monkeypatch):
    open_and_wait(qtbot, window, window.open_sample, "brain")
    shape = window.session.preview.clean.shape[-2:]
    path = write_nifti(tmp_path / "labels.nii.gz", np.ones((1, *shape), np.int16))
    assert segments_choice.choose_segments(window, str(path))
    path.unlink()
    said = []
    monkeypatch.setattr("halluview.gui.main_window.show_error", lambda parent, message, *a: said.append(message))
    window.run_attack()
    assert len(said) == 1 and said[0].startswith(f"{path}: cannot read the label map")
    assert not window.session.runs and not window.session.jobs.attack_running


def test_with_a_region_whole_image_noise_numbers_say_so(qtbot):
    panel = MetricsPanel(Session())
    qtbot.addWidget(panel)
    values = {"ssim": 0.9, "ssim_in": 0.5, "vif": 0.8, "srmse_max": 0.02, "srmse_max_in": 0.03}
    noise = {"ssim": 0.99, "ssim_in": 0.98, "vif": 0.95, "srmse_max": 0.002, "srmse_max_in": 0.004}
    images = dict.fromkeys(("delta", "perturbed", "clean", "perturbation_image"), np.zeros((8, 8)))
    panel.show_result(AttackResult(**images, metrics={"vs_clean": values}, noise_metrics={"vs_clean": noise},
                                   norms={"realised_eps": 0.01, "change_hf_share": 0.1,
                                          "noise_change_hf_share_mean": 0.8}, history=[{}], config={}, seconds=1.0))
    assert panel.table.horizontalHeaderItem(4).text() == "noise, in region"
    assert texts(panel, "srmse_max")[2:] == ["0.0300", "—", "0.00400"]  # in region against in region
    assert texts(panel, "vif")[4] == "0.9500 *" and texts(panel, "hf_share")[4] == "0.80 *"
    assert "no in-region variant" in panel.table.item(ROW["vif"], 4).toolTip()
    assert panel.where.isHidden()  # no segments recorded: nothing said


def test_where_maxsrmse_is_in_the_panels_coordinates_at_a_working_size(qtbot):
    panel = MetricsPanel(Session())
    qtbot.addWidget(panel)
    images = dict.fromkeys(("delta", "perturbed", "clean", "perturbation_image"), np.zeros((64, 64)))
    worst = {"label": 3, "srmse": 0.0123, "row": 10.3, "column": 20.6, "pixels": 17}
    clinical = {"segmentation": {"method": "slic", "parameters": {}, "segments": 40},
                "worst_segment": {"vs_clean": worst}}
    config = {"source": {"image_size": 64}, "scan_facts": {"shape": [128, 128]}}  # shown over the scan's 128²
    panel.show_result(AttackResult(**images, metrics={"vs_clean": {"ssim": 0.9}}, noise_metrics={"vs_clean": {}},
                                   norms={"realised_eps": 0.01}, history=[{}], config=config, seconds=1.0,
                                   clinical=clinical))
    assert panel.where.text() == ("MaxSRMSE against the un-attacked reconstruction (0.0123): the segment of 17 "
                                  "pixels around row 21, column 42.")
    assert "40 segments of the un-attacked reconstruction (no reference)" in \
        panel.table.verticalHeaderItem(ROW["srmse_mean"]).toolTip()
