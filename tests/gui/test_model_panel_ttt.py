"""The model panel's test-time training option: it reaches the experiment, the adaptation runs in the worker with
its progress shown, and it is offered only for networks."""
from halluview.gui.panels import ModelPanel
from halluview.gui.session import Session

TIMEOUT_MS = 60_000


def test_adapt_option_reaches_the_experiment_and_shows_its_progress(qtbot):
    session = Session()
    qtbot.addWidget(panel := ModelPanel(session))
    with qtbot.waitSignal(session.previewReady, timeout=TIMEOUT_MS):
        session.open_sample("brain")
    assert not panel.adapt.isHidden() and panel.adapt_steps.isHidden()
    steps = []
    session.adaptProgress.connect(lambda step, total, loss: steps.append((step, total, loss)))
    panel.adapt_steps.setValue(3)
    assert session.experiment.recon.ttt is None  # the steps wait for the box
    with qtbot.waitSignal(session.previewReady, timeout=TIMEOUT_MS) as ready:
        panel.adapt.setChecked(True)
    assert session.experiment.recon.ttt == {"steps": 3, "lr": 1e-4, "split": 0.0, "seed": 0}
    record = ready.args[0].recon.record
    assert [s[:2] for s in steps] == [(1, 3), (2, 3), (3, 3)] and steps[-1][2] == record.loss_after
    assert panel.adapt_status.text() == ""  # cleared once the adapted preview is on screen
    panel.show_adaptation(2, 3, 0.00123)
    assert panel.adapt_status.text() == "tuning to this scan: step 2 of 3, loss 0.00123"
    assert not panel.adapt_steps.isHidden()
    session.update(recon={"name": "tv", "params": {}, "weights": None, "allow_pickle": False})
    assert session.experiment.recon.ttt is None and panel.adapt.isHidden() and panel.adapt_steps.isHidden()
    session.jobs.cancel()
    session.jobs.wait()


def test_the_finished_run_says_what_tuning_did_in_plain_words(qtbot, window):
    from window_helpers import open_and_wait, run_and_wait

    open_and_wait(qtbot, window, window.open_sample, "brain")
    with qtbot.waitSignal(window.session.previewReady, timeout=TIMEOUT_MS):
        window.session.update(recon={"name": "unet-mri-4x", "ttt": {"steps": 2}}, optimizer={"steps": 2})
    record = run_and_wait(qtbot, window)
    text = window.metrics_panel.verdict.text()
    before = record.result.test_time["adaptation"]["clean"]["before"]["ssim"]
    assert "Tuned to this scan first (2 steps): without attack, SSIM against the reference" in text
    assert f"{before:.3f} → " in text and "Tuned afresh on the attacked data" in text
