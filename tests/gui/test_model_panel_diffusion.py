"""The model panel for the diffusion reconstruction: its sampling steps reach the experiment, it is attacked by
transfer unless the user says otherwise, and test-time training is not offered (it keeps every sample already)."""
from halluview.gui.panels import ModelPanel
from halluview.gui.session import Session


def test_sampling_steps_reach_the_experiment_and_no_tuning_is_offered(qtbot):
    session = Session()
    qtbot.addWidget(panel := ModelPanel(session))
    session.update(recon={"name": "diffusion-mri-4x", "params": {}, "weights": None, "allow_pickle": False})
    assert not panel.sampling_steps.isHidden() and panel.sampling_steps.value() == 50
    assert panel.adapt.isHidden() and session.experiment.surrogate == "unet-mri-4x"
    panel.sampling_steps.setValue(8)
    assert session.experiment.recon.params["sampling_steps"] == 8
    assert "seeds" in panel.card.text()  # the card gives its spread over sampler seeds
    session.update(recon={"name": "tv", "params": {}, "weights": None, "allow_pickle": False})
    assert panel.sampling_steps.isHidden()
    session.jobs.cancel()
    session.jobs.wait()
