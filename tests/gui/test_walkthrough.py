"""A user's walk through the app, asserting at every stop that what is on screen belongs together: the images, the
table, the verdict, the banner, the colour bar and the run history all describe the same run (or say none ran).

demo → run → a real CT → draw → region → remove lesion → transfer → a volume, slice changed mid-run → cancel →
export → compare. Offscreen in CI; under Xvfb the same test drives a real X window.
"""
import numpy as np
import pytest
from window_helpers import TIMEOUT_MS, open_and_wait, run_and_wait

from halluview.gui import main_window as main_window_module
from halluview.gui.main_window import MainWindow
from halluview.gui.panels.metrics_panel import NO_RUN
from halluview.gui.panels.metrics_table import format_metric

STEPS = 4


@pytest.fixture
def window(qtbot, monkeypatch):
    errors = []
    monkeypatch.setattr(main_window_module, "show_error", lambda parent, message, *a, **k: errors.append(message))
    win = MainWindow()
    win.errors = errors
    qtbot.addWidget(win)
    win.show()
    yield win
    win.session.jobs.cancel()
    win.session.jobs.wait()


def table(win) -> list[list[str]]:
    t = win.metrics_panel.table
    return [[t.item(r, c).text() for c in range(t.columnCount())] for r in range(t.rowCount())]


def assert_no_run_on_screen(win) -> None:
    """The clean reconstruction of the current settings, and nothing that belongs to a run."""
    np.testing.assert_array_equal(win.panels.images["clean"].image, win.session.preview.clean[0].numpy())
    assert win.panels.images["perturbed"].image is None and win.panels.images["difference"].image is None
    assert win.metrics_panel.heading.text() == NO_RUN
    assert {text for row in table(win) for text in row} == {"—"}
    assert "no attack" in win.panels.banner.text()
    assert win.history_panel.list.selectedItems() == []


def assert_run_on_screen(win, record) -> None:
    """Run ``record``'s result in every panel, its numbers in the table, its number everywhere, in scan units."""
    result = record.result
    np.testing.assert_array_equal(win.panels.images["clean"].image, result.clean)
    np.testing.assert_array_equal(win.panels.images["perturbed"].image, result.perturbed)
    np.testing.assert_allclose(win.panels.images["difference"].image, result.perturbed - result.clean, atol=1e-6)
    assert win.live.shown is record and win.metrics_panel.record is record
    assert win.panels.banner.text().startswith(f"Run #{record.number}")
    assert win.metrics_panel.heading.text().startswith(f"Run #{record.number}")
    assert table(win)[0][0] == format_metric("ssim", result.metrics["vs_clean"]["ssim"])
    assert not win.metrics_panel.verdict.isHidden() and win.metrics_panel.verdict.text()
    selected = win.history_panel.list.selectedItems()
    assert len(selected) == 1 and selected[0].text().startswith(f"#{record.number} ")
    scan = win.session.scan
    assert win.panels.colour_bar.labels()[0].endswith(" HU" if scan.units == "HU" else f" {scan.units}")
    assert win.progress.value() == win.progress.maximum()


def run(qtbot, win, **settings):
    win.session.update(optimizer={"steps": STEPS}, **settings)
    record = run_and_wait(qtbot, win)
    qtbot.waitUntil(lambda: not win.session.jobs.attack_running, timeout=TIMEOUT_MS)
    assert record.status == "done", win.errors
    return record


def test_a_walk_through_the_app(qtbot, window, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    win, session = window, window.session
    assert win.panels.placeholder() == "Loading…"

    # the built-in example, as the app starts
    open_and_wait(qtbot, win, win.open_sample, "brain")
    assert_no_run_on_screen(win)
    demo = run(qtbot, win)
    assert_run_on_screen(win, demo)

    # a real CT (pydicom's CT_small.dcm): the demo's numbers go, HU everywhere
    open_and_wait(qtbot, win, win.open_sample, "ct-small")
    assert_no_run_on_screen(win)
    assert win.panels.units().label == "HU" and session.experiment.operator.kind == "ct"

    # draw a region; attack it; then remove what is inside it
    win.drawing.add_shape({"kind": "ellipse", "xywh": [50, 50, 20, 20]})
    region = run(qtbot, win, objective={"kind": "region"})
    assert_run_on_screen(win, region)
    assert region.region is not None and region.region.sum() > 0
    removed = run(qtbot, win, objective={"kind": "remove"})
    assert_run_on_screen(win, removed)
    assert "of the way to erasing" in win.metrics_panel.verdict.text() or "No worst case" in \
        win.metrics_panel.verdict.text()

    # a transfer from the classical FBP to the network
    transfer = run(qtbot, win, surrogate="fbp")
    assert_run_on_screen(win, transfer)
    assert win.panels.banner.text() == f"Run #{transfer.number}, transfer from fbp: the worst case it found."
    assert "transfer from fbp" in win.history_panel.list.selectedItems()[0].text()

    # history: clicking an earlier run shows that run, all of it
    session.select_run(region)
    assert_run_on_screen(win, region)

    # a volume: the slice changes while an attack runs → that run stops, the new slice is shown without it
    open_and_wait(qtbot, win, win.open_sample, "mr-anatomical")
    assert_no_run_on_screen(win)
    assert session.regions.shapes == []  # the CT's region does not follow to another scan
    session.update(objective={"kind": "untargeted"}, optimizer={"steps": 5000})
    with qtbot.waitSignal(session.stepArrived, timeout=TIMEOUT_MS):
        win.run_attack()
    moving = session.current_run()
    session.runEnded.connect(lambda r: print("ENDED", r.status, r.note, flush=True))
    session.busyChanged.connect(lambda b: print("BUSY", b, flush=True))
    session.previewReady.connect(lambda p: print("PREVIEW", session.slice_index, flush=True))
    session.errorOccurred.connect(lambda m, d: print("ERR", m, flush=True))
    old_slice = session.slice_index
    with qtbot.waitSignal(session.previewReady, timeout=TIMEOUT_MS):
        session.set_slice(old_slice + 1)
    qtbot.waitUntil(lambda: not session.jobs.attack_running, timeout=TIMEOUT_MS)
    assert moving.status == "cancelled" and session.slice_index == old_slice + 1
    assert_no_run_on_screen(win)
    assert win.progress.value() < win.progress.maximum()

    # cancel: the bar stops where the run was, the panels say it has no result
    with qtbot.waitSignal(session.stepArrived, timeout=TIMEOUT_MS):
        win.run_attack()
    with qtbot.waitSignal(session.runEnded, timeout=TIMEOUT_MS) as ended:
        win.actions_by_name["cancel"].trigger()
    assert ended.args[0].status == "cancelled"
    assert win.progress.value() < win.progress.maximum() and win.progress.format().startswith("cancelled")
    qtbot.waitUntil(lambda: not session.jobs.attack_running, timeout=TIMEOUT_MS)

    # export the transfer run as a figure: the window says where it went
    session.select_run(transfer)
    target = tmp_path / "transfer.svg"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    win.actions_by_name["export_png"].trigger()
    assert target.exists() and "transfer from fbp" in target.read_text()
    assert win.statusBar().currentMessage() == f"Saved {target}"

    # compare the region and remove runs: both shown, the objective named as the setting that differs
    from halluview.gui.compare_dialog import CompareDialog

    dialog = CompareDialog(region, removed, win)
    qtbot.addWidget(dialog)
    assert dialog.runs == (region, removed)
    differing = {d.key: (d.a, d.b) for d in dialog.comparison.settings}
    assert differing["objective.kind"] == ("region", "remove")
    assert not win.errors
