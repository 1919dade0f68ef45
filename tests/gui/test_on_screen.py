"""What is on screen belongs together: the images, the numbers, the colour bar and the words all describe the same
run (or say that none ran), in the scan's units; the window says what it is doing."""
import numpy as np
import pytest
from window_helpers import TIMEOUT_MS, open_and_wait, run_and_wait

from halluview.core.display import robust_limit
from halluview.gui.demo import DEMO_REGION, demo_settings, place_demo_region_once
from halluview.gui.panels.metrics_panel import NO_RUN


def test_before_the_first_reconstruction_the_panels_say_they_are_loading(qtbot, window):
    assert window.panels.placeholder() == "Loading…"
    window.open_sample("brain")
    assert window.panels.placeholder() == "Opening Brain-like phantom with small lesions (MRI)…"
    qtbot.waitSignal(window.session.previewReady, timeout=TIMEOUT_MS).wait()
    assert window.panels.placeholder() is None  # the clean reconstruction is there
    assert window.panels.placeholder("perturbed") == "Run ▶ to attack"  # nothing attacked is shown yet
    assert window.panels.images["perturbed"].image is None


def test_the_difference_scale_follows_the_run_and_shows_where_the_change_is(qtbot, window):
    open_and_wait(qtbot, window, window.open_sample, "brain")
    window.drawing.add_shape({"kind": "ellipse", "xywh": [60, 40, 16, 16]})
    window.session.update(objective={"kind": "region"}, optimizer={"steps": 12})
    limits, saturated = [], []

    def painted(*_):
        window.live._flush()  # paint every step (the painter's own timer keeps only the latest at 20 fps)
        data, limit = window.panels._data["difference"], window.panels.difference_limit()
        if data is not None and limit is not None and window.session.jobs.attack_running:
            limits.append(limit)
            saturated.append(float(np.mean(np.abs(data) >= limit)))

    window.session.stepArrived.connect(painted)  # after the painter's own handler: the step is pending
    record = run_and_wait(qtbot, window)
    assert len(limits) >= 10
    assert all(b >= a for a, b in zip(limits, limits[1:]))  # it may widen, it never shrinks mid-run
    assert max(saturated) < 0.02  # a first step's tiny change does not saturate the rest of the run
    final = record.result.perturbed - record.result.clean
    assert window.panels.difference_limit() == pytest.approx(robust_limit(final))


def test_a_ct_shows_hu_in_the_colour_bar_and_the_pixel_readout(qtbot, window):
    open_and_wait(qtbot, window, window.open_sample, "ct-small")
    window.panels.set_difference_limit(0.05)
    top, middle, bottom = window.panels.colour_bar.labels()
    assert (top, middle, bottom) == ("+50 HU", "0", "−50 HU")  # 0.05 working units = 50 HU
    clean = window.session.preview.clean[0].numpy()
    window.panels.set_cursor(10, 12)
    assert window.pixel_label.text().endswith(" HU")
    assert f"clean {clean[10, 12] * 1000 - 1000:.4g}" in window.pixel_label.text()


def test_a_new_scan_or_slice_clears_the_last_runs_numbers_and_images(qtbot, window):
    open_and_wait(qtbot, window, window.open_sample, "brain")
    record = run_and_wait(qtbot, window)
    assert window.metrics_panel.heading.text().startswith(f"Run #{record.number}")
    assert window.metrics_panel.table.item(0, 0).text() != "—"
    open_and_wait(qtbot, window, window.open_sample, "ellipses")
    assert window.metrics_panel.heading.text() == NO_RUN
    assert {window.metrics_panel.table.item(r, c).text() for r in range(4) for c in range(5)} == {"—"}
    assert window.panels.images["perturbed"].image is None and window.panels.images["difference"].image is None
    assert "no attack" in window.panels.banner.text()
    assert window.live.shown is None


def test_a_cancelled_run_does_not_show_a_full_progress_bar(qtbot, window):
    open_and_wait(qtbot, window, window.open_sample, "brain")
    window.session.update(optimizer={"steps": 5000})
    with qtbot.waitSignal(window.session.stepArrived, timeout=TIMEOUT_MS):
        window.run_attack()
    with qtbot.waitSignal(window.session.runEnded, timeout=TIMEOUT_MS):
        window.session.jobs.cancel()
    assert window.progress.value() < window.progress.maximum()
    assert window.progress.format().startswith("cancelled")


def test_pause_says_paused_and_resume(qtbot, window):
    open_and_wait(qtbot, window, window.open_sample, "brain")
    window.session.update(optimizer={"steps": 5000})
    with qtbot.waitSignal(window.session.stepArrived, timeout=TIMEOUT_MS):
        window.run_attack()
    window.actions_by_name["pause"].trigger()
    assert window.actions_by_name["pause"].text() == "Resume ▶"
    assert window.progress_label.text().startswith("Paused")
    window.actions_by_name["pause"].trigger()
    assert window.actions_by_name["pause"].text() == "Pause"
    with qtbot.waitSignal(window.session.runEnded, timeout=TIMEOUT_MS):
        window.session.jobs.cancel()
    assert window.actions_by_name["pause"].text() == "Pause"


def test_closing_with_unsaved_runs_asks(qtbot, window, questions_answered_yes, tmp_path):
    open_and_wait(qtbot, window, window.open_sample, "brain")
    assert window.quit_by_user() and questions_answered_yes == []  # nothing to lose: no question
    window.show()
    run_and_wait(qtbot, window)
    qtbot.waitUntil(lambda: not window.session.jobs.attack_running, timeout=TIMEOUT_MS)
    window.actions_by_name["quit"].trigger()
    assert window.isHidden() and len(questions_answered_yes) == 1 and "not saved" in questions_answered_yes[0]
    window.show()
    assert window.close() and len(questions_answered_yes) == 1  # a program closing it (quit()) asks nothing


def test_the_demo_region_is_placed_once_and_stays_cleared(qtbot, window):
    demo_settings(window.session)
    place_demo_region_once(window.session)
    open_and_wait(qtbot, window, window.open_sample, "brain")
    assert window.session.regions.shapes == [DEMO_REGION]
    window.session.regions.clear()
    window.session.regions_edited()
    with qtbot.waitSignal(window.session.previewReady, timeout=TIMEOUT_MS):
        window.session.update(operator={"acceleration": 8.0})  # a setting that rebuilds the reconstruction
    assert window.session.regions.shapes == []


def test_the_demo_attacks_the_unet_directly_whatever_was_chosen_before(qtbot, window):
    window.session.update(recon={"name": "unet-mri-4x"}, surrogate="dncnn-mri-4x")
    demo_settings(window.session)
    assert window.session.experiment.recon.name == "unet-mri-4x" and window.session.experiment.surrogate is None


def test_the_side_panels_collapse_and_give_the_images_the_width(qtbot, window):
    window.show()
    qtbot.waitExposed(window)
    before = window.panels.views["clean"].width()
    window.actions_by_name["side_panels"].trigger()
    qtbot.waitUntil(lambda: window.panels.views["clean"].width() > before * 1.3, timeout=5000)
    assert window.left_dock.isHidden() and window.right_dock.isHidden()
    window.actions_by_name["side_panels"].trigger()
    assert window.left_dock.isVisible() and window.right_dock.isVisible()


def test_a_transfer_says_so_while_it_runs_and_the_plot_agrees_with_the_table_at_the_end(qtbot, window):
    open_and_wait(qtbot, window, window.open_sample, "brain")
    window.session.update(recon={"name": "unet-mri-4x"}, surrogate="zero-filled", optimizer={"steps": 4})
    seen = {}

    def on_step(payload):
        seen.setdefault("banner", window.panels.banner.text())
        seen.setdefault("heading", window.metrics_panel.heading.text())
        seen.setdefault("status", window.progress_label.text())
        seen.setdefault("clean", window.live._clean)

    window.session.stepArrived.connect(on_step)
    with qtbot.waitSignal(window.session.jobs.problemReady, timeout=TIMEOUT_MS) as ready:
        with qtbot.waitSignal(window.session.runEnded, timeout=TIMEOUT_MS) as ended:
            window.run_attack()
    problem, record = ready.args[0], ended.args[0]
    assert "transfer" in seen["banner"] and "zero-filled" in seen["banner"]
    assert "zero-filled" in seen["heading"] and "until the attack ends" in seen["heading"]
    assert "transfer: optimising on zero-filled" in window.progress_label.text() or "(transfer)" in \
        window.progress_label.text()
    np.testing.assert_array_equal(seen["clean"], problem.surrogate.clean[0].numpy())  # steps are measured on it
    assert window.panels.banner.text() == f"Run #{record.number}, transfer from zero-filled: the worst case it found."
    assert window.metrics_panel.heading.text().endswith("transfer from zero-filled")
    marker_x, marker_y = window.metrics_panel.plot.final_marker.getData()
    table_ssim = record.result.metrics["vs_clean"]["ssim"]
    assert list(marker_y) == [pytest.approx(table_ssim)]
    assert window.metrics_panel.table.item(0, 0).text() == f"{table_ssim:.4f}"
    np.testing.assert_array_equal(window.panels.images["clean"].image, record.result.clean)  # the attacked model's


def test_exports_say_where_they_saved_and_count_as_saved(qtbot, window, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    open_and_wait(qtbot, window, window.open_sample, "brain")
    record = run_and_wait(qtbot, window)
    target = tmp_path / "figure.png"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), "PNG image, 300 dpi (*.png)"))
    window.actions_by_name["export_png"].trigger()
    assert target.exists() and window.statusBar().currentMessage() == f"Saved {target}"
    assert record.number in window.unsaved_runs  # a figure is not the run's record
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(tmp_path))
    window.actions_by_name["export_report"].trigger()
    assert (tmp_path / f"run-{record.number}" / "report.html").exists()
    assert window.statusBar().currentMessage() == f"Saved {tmp_path / f'run-{record.number}'}"
    assert record.number not in window.unsaved_runs


def test_the_noise_is_one_click_from_the_verdict(qtbot, window):
    open_and_wait(qtbot, window, window.open_sample, "brain")
    record = run_and_wait(qtbot, window)
    button = window.metrics_panel.noise_button
    assert button.isVisibleTo(window)
    button.click()
    np.testing.assert_array_equal(window.panels.images["perturbed"].image, record.result.noise_example)
    assert "random noise of the same size" in window.panels.banner.text()
    button.click()
    np.testing.assert_array_equal(window.panels.images["perturbed"].image, record.result.perturbed)


def test_presentation_mode_gives_the_users_session_back(qtbot, window, monkeypatch):
    from PySide6.QtCore import Qt

    from halluview.gui import presentation

    monkeypatch.setattr(presentation, "PAUSE_MS", 50)
    window.show()
    qtbot.waitExposed(window)
    open_and_wait(qtbot, window, window.open_sample, "ct-small")
    window.drawing.add_shape({"kind": "rect", "xywh": [40, 40, 10, 10]})
    window.session.update(surrogate="fbp", objective={"kind": "region"}, threat={"eps": 0.05})
    mine = window.session.run_experiment()
    window.actions_by_name["presentation"].trigger()
    assert window.left_dock.isHidden() and window.right_dock.isHidden()  # large images
    with qtbot.waitSignal(window.session.runStarted, timeout=TIMEOUT_MS) as started:
        pass  # the tour opens the example and attacks it, with the demo's own settings
    tour = started.args[0].experiment
    assert tour["source"]["demo"] == "brain" and tour["surrogate"] is None and tour["objective"]["kind"] == "insert"
    qtbot.keyClick(window, Qt.Key_A)
    window.actions_by_name["presentation"].trigger()
    qtbot.waitUntil(lambda: not window.session.jobs.attack_running and window.session.preview is not None,
                    timeout=TIMEOUT_MS)  # the user's scan reconstructed again
    back = window.session.run_experiment()
    assert back.source == mine.source and back.surrogate == "fbp" and back.objective.kind == "region"
    assert back.threat.eps == 0.05 and back.region == mine.region
    assert window.session.scan.source.endswith("CT_small.dcm") and window.session.runs == []
    assert window.left_dock.isVisible() and window.right_dock.isVisible()


def test_the_window_control_names_the_window_the_images_are_in(qtbot, window):
    open_and_wait(qtbot, window, window.open_sample, "ct-small")  # CT_small.dcm's own window: L −38, W 1646 HU
    combo = window.scan_panel.window
    assert combo.currentText().startswith("File default  (W 1646, L -38)")
    assert window.panels.levels() == pytest.approx(((-38 - 823 + 1000) / 1000, (-38 + 823 + 1000) / 1000))
    window.scan_panel.choose_window("Auto")
    assert window.session.window is None and combo.currentText().startswith("Auto")
    clean = window.session.preview.clean[0].numpy()
    assert window.panels.levels() == pytest.approx((clean.min(), clean.max()))


def test_the_window_does_not_widen_when_a_run_ends(qtbot, window):
    """The finished run's longer words (its status line, the verdict) wrap: on a small screen (a laptop at a
    conference) the window must not grow past it when a run ends."""
    window.show()
    qtbot.waitExposed(window)
    open_and_wait(qtbot, window, window.open_sample, "brain")
    window.session.update(optimizer={"steps": 3})
    before = window.minimumSizeHint().width()
    run_and_wait(qtbot, window)
    qtbot.wait(100)  # the layout settles
    assert not window.metrics_panel.verdict.isHidden() and "done in" in window.metrics_panel.status.text()
    assert window.minimumSizeHint().width() <= before, (before, window.metrics_panel.status.text())


@pytest.mark.parametrize("width, beside", [(1100, False), (1800, True)])
def test_the_verdict_goes_beside_the_table_where_both_fit_and_below_it_otherwise(qtbot, window, width, beside):
    """No number in the table is cut to "0.9…" to make room for the verdict, and no line lies over another."""
    window.show()
    qtbot.waitExposed(window)
    window.resize(width, 900)
    open_and_wait(qtbot, window, window.open_sample, "brain")
    window.drawing.add_shape({"kind": "ellipse", "xywh": [60, 40, 16, 16]})
    window.session.update(objective={"kind": "region"}, optimizer={"steps": 3})
    run_and_wait(qtbot, window)
    qtbot.wait(100)  # the layout settles
    panel = window.metrics_panel
    table, box = panel.table, panel.verdict_box.geometry()
    digits = table.fontMetrics().horizontalAdvance("0.00000 *")
    assert all(table.columnWidth(col) > digits for col in range(table.columnCount()))
    header = table.horizontalHeader()
    for col in range(table.columnCount()):  # "noise, in region" whole, not "oise, in regior"
        name = table.horizontalHeaderItem(col).text()
        assert table.columnWidth(col) >= header.fontMetrics().horizontalAdvance(name) + 8, name
    assert panel.verdict_beside is beside and not panel.verdict_box.isHidden()
    if beside:
        assert box.left() >= table.geometry().right() and box.top() < table.geometry().bottom()
    else:
        assert box.top() >= table.geometry().bottom()
    below = [panel.verdict_box, panel.status, panel.where, panel.plot] if not beside else \
        [panel.status, panel.where, panel.plot]
    shown = [w.geometry() for w in [table, *below] if not w.isHidden()]
    assert all(a.bottom() < b.top() for a, b in zip(shown, shown[1:])), shown  # stacked, none over another
