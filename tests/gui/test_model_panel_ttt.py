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
