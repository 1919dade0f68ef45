"""Picking one's own checkpoint in the app: no architecture is asked (it is read from the weights), a file that does
not load leaves the reconstruction on screen selected and says why in a dialog, and a file holding pickled objects
is loaded only once the user allows it."""
import fastmri_reference  # noqa: F401  - stand-ins for fastMRI's data loaders before fastmri.models is imported
import pytest
import torch
from fastmri.models import Unet as ReferenceUnet
from fastmri.models import VarNet as ReferenceVarNet
from PySide6.QtWidgets import QApplication

from halluview.gui.dialogs import ErrorDialog
from halluview.gui.main_window import MainWindow
from halluview.gui.panels import ModelPanel
from halluview.gui.panels import model_panel as model_module
from halluview.gui.session import Session

TIMEOUT_MS = 60_000


def choose(combo, data):
    """What a user's pick does: select the item and emit ``activated``."""
    assert (index := combo.findData(data)) >= 0, data
    combo.setCurrentIndex(index)
    combo.activated.emit(index)


def pick_file(monkeypatch, panel, path):
    """The user picks "Load checkpoint…" and then ``path`` in the file dialog."""
    monkeypatch.setattr(model_module.QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    choose(panel.picker, model_module.LOAD)


@pytest.fixture
def live(qtbot):
    """A session on the demo with its clean reconstruction built in the background, as the app runs it."""
    session = Session()
    qtbot.addWidget(panel := ModelPanel(session))
    never_asked(panel)
    with qtbot.waitSignal(session.previewReady, timeout=TIMEOUT_MS):
        session.open_sample("brain")
    yield session, panel
    session.jobs.cancel()
    session.jobs.wait()


@pytest.fixture
def quiet(qtbot, monkeypatch):
    """A session whose previews are not built (only the settings are looked at)."""
    session = Session()
    monkeypatch.setattr(session, "request_preview", lambda: None)
    qtbot.addWidget(panel := ModelPanel(session))
    never_asked(panel)
    return session, panel


def never_asked(panel):
    """A question the test did not expect fails it instead of waiting for a click."""
    panel.confirm_allow_pickle = lambda path: pytest.fail(f"asked whether to unpickle {path}")


def errors_of(session, panel):
    seen = []
    panel.errorRaised.connect(lambda message, details: seen.append(message))
    session.errorOccurred.connect(lambda message, details: seen.append(message))
    return seen


@pytest.mark.parametrize("content", ["neither", "garbage", "mixed"])
def test_a_checkpoint_that_fails_to_load_leaves_the_previous_model_selected(qtbot, live, tmp_path, monkeypatch,
                                                                            content):
    """Before: the file went into the settings and failed later, in the background; the picker and the session
    stayed on the failed file, with the previous model's images on screen."""
    session, panel = live
    before = session.experiment.recon
    path = tmp_path / "bad.pt"
    if content == "neither":
        torch.save({"encoder.weight": torch.zeros(3)}, path)
    elif content == "garbage":
        path.write_bytes(b"not a checkpoint")
    else:  # names of a U-Net with a tensor of the wrong shape
        state = ReferenceUnet(1, 1, chans=4, num_pool_layers=2).state_dict()
        state["conv.layers.0.weight"] = torch.zeros(2, 8, 3, 3)
        torch.save(state, path)
    errors = errors_of(session, panel)
    pick_file(monkeypatch, panel, path)
    qtbot.waitUntil(lambda: bool(errors), timeout=TIMEOUT_MS)
    session.jobs.wait()
    assert len(errors) == 1 and errors[0].startswith(f"{path}: ")
    assert session.experiment.recon == before
    assert panel.picker.currentData() == before.name == "unet-mri-4x"
    assert panel.picker.currentText() == panel.picker.itemText(panel.picker.findData("unet-mri-4x"))
    assert not panel.picker.model().item(panel.picker.findData("checkpoint")).isEnabled()


def test_a_checkpoint_of_any_size_loads_without_asking_its_architecture(qtbot, live, tmp_path, monkeypatch):
    """Before: the app built a 32-channel, 4-pool U-Net whatever the file held, so this one failed to load."""
    session, panel = live
    path = tmp_path / "small.pt"
    torch.save({"state_dict": {f"unet.{k}": v for k, v in
                               ReferenceUnet(1, 1, chans=8, num_pool_layers=2).state_dict().items()}}, path)
    errors = errors_of(session, panel)
    with qtbot.waitSignal(session.previewReady, timeout=TIMEOUT_MS):
        pick_file(monkeypatch, panel, path)
    assert errors == []
    assert (session.experiment.recon.name, session.experiment.recon.weights) == ("checkpoint", str(path))
    assert panel.picker.currentText() == "Checkpoint: small.pt"
    assert "fastMRI U-Net, 8 channels, 2 pools" in panel.card.text()
    assert session.preview.recon.config()["chans"] == 8


def test_a_varnet_checkpoint_on_a_single_coil_acquisition_is_refused_before_it_is_selected(quiet, tmp_path,
                                                                                            monkeypatch):
    session, panel = quiet
    path = tmp_path / "varnet.pt"
    torch.save(ReferenceVarNet(num_cascades=1, sens_chans=2, sens_pools=1, chans=2, pools=1).state_dict(), path)
    errors = errors_of(session, panel)
    pick_file(monkeypatch, panel, path)
    assert session.experiment.recon.name == "unet-mri-4x" and panel.picker.currentData() == "unet-mri-4x"
    assert len(errors) == 1 and "multi-coil network" in errors[0]
    assert session.update(operator={"n_coils": 4})
    assert panel.load_checkpoint(str(path))
    assert session.experiment.recon.params == {"arch": "fastmri-varnet"}
    assert "fastMRI E2E-VarNet, 1 cascades of 2 channels, 1 pools" in panel.card.text()


def test_a_pickled_checkpoint_is_loaded_only_when_the_user_allows_it(quiet, tmp_path, monkeypatch):
    session, panel = quiet
    path = tmp_path / "whole-module.pt"
    torch.save(ReferenceUnet(1, 1, chans=4, num_pool_layers=1), path)  # the module pickled, not its state_dict
    asked, answers = [], [False, True]
    monkeypatch.setattr(panel, "confirm_allow_pickle", lambda p: asked.append(p) or answers.pop(0))
    errors = errors_of(session, panel)
    pick_file(monkeypatch, panel, path)  # declined: nothing changes, and no error either (the user chose)
    assert asked == [str(path)] and errors == [] and session.experiment.recon.name == "unet-mri-4x"
    assert panel.picker.currentData() == "unet-mri-4x"
    pick_file(monkeypatch, panel, path)  # allowed
    recon = session.experiment.recon
    assert (recon.name, recon.weights, recon.allow_pickle) == ("checkpoint", str(path), True)
    assert panel.picker.currentText() == "Checkpoint: whole-module.pt"
    assert not panel.load_checkpoint(str(tmp_path / "missing.pt"))
    assert errors == [f"{tmp_path / 'missing.pt'}: no such file"] and session.experiment.recon.weights == str(path)


def test_a_saved_sessions_pickled_checkpoint_is_asked_about_again(quiet, tmp_path, monkeypatch):
    """A session error that refuses a pickled checkpoint (what a restored session's preview reports) makes the
    panel ask, and a yes loads it with permission."""
    session, panel = quiet
    path = tmp_path / "net.pt"
    torch.save(ReferenceUnet(1, 1, chans=4, num_pool_layers=1), path)
    session.update(recon={"name": "checkpoint", "weights": str(path), "params": {}})
    asked = []
    monkeypatch.setattr(panel, "confirm_allow_pickle", lambda p: asked.append(p) or True)
    session.errorOccurred.emit(f"{path}: it holds pickled Python objects, not just tensors", "")
    assert asked == [str(path)] and session.experiment.recon.allow_pickle


def test_the_app_shows_a_failed_checkpoint_in_a_dialog(qtbot, tmp_path):
    window = MainWindow()
    qtbot.addWidget(window)
    never_asked(window.model_panel)
    try:
        path = tmp_path / "neither.pt"
        torch.save({"encoder.weight": torch.zeros(3)}, path)
        assert not window.model_panel.load_checkpoint(str(path))
        shown = [w for w in QApplication.topLevelWidgets() if isinstance(w, ErrorDialog) and w.isVisible()]
        assert len(shown) == 1 and "it holds neither a fastMRI U-Net" in shown[0].message
        shown[0].close()
    finally:
        window.session.jobs.cancel()
        window.session.jobs.wait()
