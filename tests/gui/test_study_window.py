"""Attack › Compare reconstructions…: a study of the open scan run in the background, painted live from the core's
summary, cancellable, resumable, exported."""
from pathlib import Path

import pytest
from PySide6.QtCore import QThreadPool
from window_helpers import TIMEOUT_MS, open_and_wait

from halluview.core.study import summary
from halluview.core.study.local import read_table
from halluview.gui import study_export, study_settings, study_window

RECONS = ("unet-mri-4x", "zero-filled")
SHOTS = Path("/tmp/shots")


@pytest.fixture
def errors(monkeypatch):
    shown = []
    monkeypatch.setattr(study_window, "show_error", lambda parent, message, details="": shown.append(message))
    return shown


@pytest.fixture
def study(qtbot, window, tmp_path, errors):
    """The study window opened from the main window's menu on the brain example, two reconstructions ticked, two ε
    values, 2 optimizer steps, its table in a fresh folder."""
    open_and_wait(qtbot, window, window.open_sample, "brain")
    window.session.update(optimizer={"steps": 2})
    window.actions_by_name["compare_recons"].trigger()
    dialog = window.study_window
    qtbot.waitExposed(dialog)
    dialog.settings.tick(*RECONS)
    dialog.settings.set_eps_percent([1, 2])
    dialog.settings.folder_edit.setText(str(tmp_path / "study"))
    yield dialog
    dialog.stop_and_wait()


def run_to_end(qtbot, dialog) -> str:
    with qtbot.waitSignal(dialog.studyEnded, timeout=TIMEOUT_MS) as ended:
        dialog.run_button.click()
    return ended.args[0]


def test_the_menu_opens_one_window_on_the_open_scan_with_its_acquisitions_reconstructions(qtbot, window, study):
    assert window.actions_by_name["compare_recons"] in window.menuBar().actions()[2].menu().actions()
    boxes = study.settings.recon_boxes
    assert {"unet-mri-4x", "tv-mri-4x", "zero-filled", "tv", "wavelet"} <= set(boxes)
    assert "fbp" not in boxes and "fbpconvnet-ct-sparse" not in boxes  # CT methods do not read k-space
    assert study.settings.recons() == list(RECONS)
    assert study.settings.eps() == (0.01, 0.02)
    assert [p for p, chip in study.settings.eps_chips.items() if chip.isChecked()] == [1.0, 2.0]
    assert study.settings.slices_edit.text() == str(window.session.slice_index)
    window.actions_by_name["compare_recons"].trigger()
    assert window.study_window is study  # one window, brought forward


def test_a_study_runs_and_paints_the_core_numbers_live(qtbot, window, study, errors):
    SHOTS.mkdir(exist_ok=True)
    seen = []

    def on_cell(index, total, status):
        seen.append((index, total, status))
        assert study.running and not window.actions_by_name["run"].isEnabled()  # one job owns the device
        if len(seen) == 1:
            study.grab().save(str(SHOTS / "study_mid.png"))

    study.cellFinished.connect(on_cell)
    assert run_to_end(qtbot, study) == "done" and not errors
    assert [s[0] for s in seen] == [0, 1, 2, 3] and {s[1] for s in seen} == {4}
    assert {s[2] for s in seen} == {"done"}
    table = read_table(study.folder)
    assert len(table) == 8 and {r["status"] for r in table} == {"done"}
    assert {(r["recon"], float(r["eps"]), r["kind"]) for r in table} == {
        (recon, eps, kind) for recon in RECONS for eps in (0.01, 0.02) for kind in ("attack", "noise")}
    assert set(study.plot.curves) == {(recon, kind) for recon in RECONS for kind in ("attack", "noise")}
    curves = summary.delta_curves(table)
    for key, curve in study.plot.curves.items():
        x, y = curve.getOriginalDataset()
        assert list(x) == pytest.approx([1.0, 2.0])  # ε in % of ‖y‖
        assert list(y) == pytest.approx(curves[key]["mean"])
    change = {(r["recon"], r["eps"], r["kind"]): float(r["change_l2"]) for r in table}
    assert all(change[(recon, eps, "attack")] > change[(recon, eps, "noise")] for recon, eps, _ in change)
    verdict = study.verdict.table
    assert verdict.rowCount() == 2 and [verdict.item(r, 0).text() for r in range(2)] == sorted(RECONS)
    assert study.verdict.eps == pytest.approx(0.02)
    expected = summary.verdict_table(table, 0.02)
    for r, entry in enumerate(expected):
        assert verdict.item(r, 2).text() == f"{entry['ratio']:.1f}×"
        assert verdict.item(r, 6).text() == entry["sentence"]
    assert "4 cells run" in study.status.text() and study.progress.value() == 4
    assert window.actions_by_name["run"].isEnabled() and study.run_button.isEnabled()
    study.grab().save(str(SHOTS / "study_after.png"))


def test_exports_write_the_figure_the_table_and_the_report(qtbot, study, tmp_path, monkeypatch, errors):
    assert not any(b.isEnabled() for b in study.export_buttons)  # nothing to export before a study
    assert run_to_end(qtbot, study) == "done"
    assert all(b.isEnabled() for b in study.export_buttons)
    targets = iter([tmp_path / "figure.svg", tmp_path / "copy"])
    monkeypatch.setattr(study_export.QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(next(targets)), "")))
    study.export_buttons[0].click()
    figure = (tmp_path / "figure.svg").read_text()
    assert figure.lstrip().startswith(("<svg", "<?xml")) and "unet-mri-4x" in figure
    study.export_buttons[1].click()
    assert (tmp_path / "copy.csv").read_bytes() == (study.folder / "study.csv").read_bytes()
    study.export_buttons[2].click()
    written = sorted(p.name for p in study.folder.iterdir())
    assert any(name.endswith(".html") for name in written) and any(name.endswith(".svg") for name in written)
    assert not errors and "Saved" in study.status.text()


def test_cancel_keeps_a_valid_table_and_a_rerun_skips_the_finished_cells(qtbot, window, study, errors):
    window.session.update(optimizer={"steps": 40})
    study.settings.set_eps_percent([0.5, 1, 2])

    def cancel_after_first(index, total, status):
        study.cancel()
        assert not study.cancel_button.isEnabled()

    study.cellFinished.connect(cancel_after_first)
    assert run_to_end(qtbot, study) == "cancelled" and not errors
    study.cellFinished.disconnect(cancel_after_first)
    table = read_table(study.folder)
    finished = {r["key"] for r in table}
    assert 0 < len(finished) < 6 and {r["status"] for r in table} == {"done"}
    assert all(sorted(r["kind"] for r in table if r["key"] == key) == ["attack", "noise"] for key in finished)
    assert "Stopped" in study.status.text() and "resumes" in study.status.text()
    assert study.progress.format().startswith("cancelled")

    assert run_to_end(qtbot, study) == "done"
    assert study.counts["skipped"] == len(finished) and study.counts["done"] == 6 - len(finished)
    assert "already in the table (skipped, not run again)" in study.status.text()
    again = read_table(study.folder)
    assert len({r["key"] for r in again}) == 6 and len(again) == 12
    assert [r for r in again if r["key"] in finished] == [r for r in table]  # kept as they were


def test_closing_the_window_while_running_stops_the_study(qtbot, window, study):
    window.session.update(optimizer={"steps": 500})  # minutes of work: only a stop ends it within the test
    study.run_button.click()
    qtbot.wait(1500)  # inside the first cell's attack
    assert study.running
    with qtbot.waitSignal(study.studyEnded, timeout=TIMEOUT_MS) as ended:
        study.close()
        assert QThreadPool.globalInstance().activeThreadCount() == 0  # stopped, not just asked
    assert ended.args[0] == "cancelled" and not study.running
    assert {r["status"] for r in read_table(study.folder)} <= {"done"}  # nothing half-written
    assert window.actions_by_name["run"].isEnabled()


def test_closing_the_main_window_stops_a_running_study(qtbot, window, study):
    window.session.update(optimizer={"steps": 500})
    study.run_button.click()
    qtbot.wait(1500)
    with qtbot.waitSignal(study.studyEnded, timeout=TIMEOUT_MS) as ended:
        assert window.close()
        assert QThreadPool.globalInstance().activeThreadCount() == 0
    assert ended.args[0] == "cancelled"


def test_settings_that_cannot_run_say_why_and_start_nothing(qtbot, study, errors, tmp_path):
    study.settings.eps_edit.setText("1, lots")
    study.run_button.click()
    study.settings.set_eps_percent([1])
    study.settings.slices_edit.setText("0, 40-41")
    study.run_button.click()
    study.settings.slices_edit.setText("0")
    study.settings.tick()
    study.run_button.click()
    assert errors == ["ε: 'lots' is not a number (write percentages such as 0.5, 1, 2.5)",
                      "slices: 41 is past the last slice (0); the scan has 1 slice, numbered from 0",
                      "tick at least one reconstruction to compare"]
    assert not study.running and study.config is None and not (tmp_path / "study").exists()


def unet_file(path: Path) -> Path:
    """A small fastMRI U-Net's state_dict, as a user would save it."""
    import fastmri_reference  # noqa: F401  - stand-ins for fastMRI's data loaders before fastmri.models is imported
    import torch
    from fastmri.models import Unet as ReferenceUnet

    torch.manual_seed(0)
    torch.save(ReferenceUnet(1, 1, chans=8, num_pool_layers=2).state_dict(), path)
    return path


def pick_files(monkeypatch, *paths):
    """The file dialog answers ``paths`` in turn, as the user picks them."""
    answers = iter(paths)
    monkeypatch.setattr(study_settings.QFileDialog, "getOpenFileName",
                        staticmethod(lambda *a, **k: (str(next(answers)), "")))


def test_your_model_is_added_from_a_file_and_compared(qtbot, window, study, errors, tmp_path, monkeypatch):
    weights = unet_file(tmp_path / "mine.pt")
    settings = study.settings
    pick_files(monkeypatch, weights)
    settings.add_model_button.click()
    box = settings.user_boxes[str(weights)]
    assert box.isChecked() and box.text() == "mine.pt" and box.toolTip().startswith(f"{weights}\n")
    assert "fastMRI U-Net, 8 channels, 2 pools" in box.toolTip() and not settings.recon_message.isVisible()
    settings.tick("zero-filled", "checkpoint (mine.pt)")
    assert settings.recons() == ["zero-filled", {"name": "checkpoint", "weights": str(weights)}]
    settings.set_eps_percent([1])
    assert run_to_end(qtbot, study) == "done" and not errors
    labels = ["checkpoint (mine.pt)", "zero-filled"]
    table = read_table(study.folder)
    assert {(r["recon"], r["kind"], r["status"]) for r in table} == {
        (recon, kind, "done") for recon in labels for kind in ("attack", "noise")}
    assert set(study.plot.curves) == {(recon, kind) for recon in labels for kind in ("attack", "noise")}
    verdict = study.verdict.table
    assert [verdict.item(r, 0).text() for r in range(verdict.rowCount())] == labels
    assert study.config.recons[1] == {"name": "checkpoint", "weights": str(weights)}  # never allow_pickle
    SHOTS.mkdir(exist_ok=True)
    study.grab().save(str(SHOTS / "study_checkpoint.png"))


def test_a_file_that_cannot_be_a_model_says_why_and_adds_nothing(qtbot, study, tmp_path, monkeypatch):
    import fastmri_reference  # noqa: F401
    import torch
    from fastmri.models import Unet as ReferenceUnet

    notes, garbage, pickled = tmp_path / "notes.txt", tmp_path / "garbage.pt", tmp_path / "module.pt"
    notes.write_text("not a model")
    garbage.write_bytes(b"not a model")
    torch.save(ReferenceUnet(1, 1, chans=4, num_pool_layers=1), pickled)  # the module pickled: code could run
    settings = study.settings
    before = settings.recons()
    pick_files(monkeypatch, notes, garbage, pickled)
    for name, words in (("notes.txt", "not a model file"), ("garbage.pt", "not a readable PyTorch checkpoint"),
                        ("module.pt", "a study never unpickles")):
        settings.add_model_button.click()
        message = settings.recon_message.text()
        assert message.startswith(f"{name}: ") and words in message and "\n" not in message
        assert settings.recon_message.isVisible() and not settings.user_boxes and settings.recons() == before
    SHOTS.mkdir(exist_ok=True)
    qtbot.wait(50)  # the message's lines laid out
    study.grab().save(str(SHOTS / "study_model_refused.png"))
    pick_files(monkeypatch, unet_file(tmp_path / "mine.pt"))
    settings.add_model_button.click()  # a good file clears the message
    assert not settings.recon_message.isVisible() and len(settings.user_boxes) == 1


def test_the_main_windows_own_checkpoint_is_listed_ticked(qtbot, window, study, tmp_path):
    weights = unet_file(tmp_path / "main.pt")
    assert not study.settings.user_boxes
    window.session.update(recon={"name": "checkpoint", "weights": str(weights), "params": {"arch": "fastmri-unet"}})
    box = study.settings.user_boxes[str(weights)]
    assert box.isChecked() and box.text() == "main.pt"
    assert {"name": "checkpoint", "weights": str(weights)} in study.settings.recons()
    box.setChecked(False)  # the user's choice stands when the main window changes something else
    window.session.update(optimizer={"steps": 3})
    assert not box.isChecked() and len(study.settings.user_boxes) == 1


def test_the_plot_shows_psnr_lost_on_request_and_the_figure_follows(qtbot, study, tmp_path, monkeypatch, errors):
    assert run_to_end(qtbot, study) == "done"
    study.metric_picker.setCurrentIndex(study.metric_picker.findData("psnr"))
    curves = summary.delta_curves(read_table(study.folder), "psnr")
    assert set(study.plot.curves) == set(curves)
    for key, curve in study.plot.curves.items():
        assert list(curve.getOriginalDataset()[1]) == pytest.approx(curves[key]["mean"])
    assert "ΔPSNR" in study.plot.getPlotItem().getAxis("left").labelText
    target = tmp_path / "figure.svg"
    monkeypatch.setattr(study_export, "_save_path", lambda *a, **k: target)
    study.export_figure()
    assert "ΔPSNR" in target.read_text()
