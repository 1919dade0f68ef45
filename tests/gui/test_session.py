"""The app's session and halluview-cli build the same experiment from the same file and the same choices, the app
refuses what the CLI refuses (with the same words), and a saved session never grants permission to unpickle."""
import json

import pytest
from hostile_inputs import MARKER, malicious_checkpoint
from pydicom.data import get_testdata_file

from halluview.cli import build_parser, main
from halluview.cli_arguments import choices_from_args, experiment_from_args
from halluview.core.choices import experiment_for
from halluview.core.experiment import Experiment, ScanFacts, SourceConfig
from halluview.core.problem import load_source
from halluview.core.recon.factory import ReconConfig
from halluview.gui import main_window as main_window_module
from halluview.gui.main_window import MainWindow
from halluview.gui.session import Session

CT_SMALL = get_testdata_file("CT_small.dcm", download=False)
MR_SMALL = get_testdata_file("MR_small.dcm", download=False)
TIMEOUT_MS = 60_000


@pytest.fixture
def session(qtbot, monkeypatch):
    session = Session()
    monkeypatch.setattr(session, "request_preview", lambda: None)  # the experiment is what is compared here
    return session


def cli_experiment(*arguments) -> dict:
    """What `halluview-cli attack ARGUMENTS` runs: the arguments' choices for the scan it reads."""
    args = build_parser().parse_args(["attack", *arguments])
    scan = load_source(experiment_for(None, choices_from_args(args)))
    return experiment_from_args(args, ScanFacts.of(scan)).to_dict()


def app_experiment(qtbot, session, source, **edits) -> dict:
    """What the app runs after opening ``source`` (a path, or None for the brain example) and making ``edits``."""
    with qtbot.waitSignal(session.scanChanged, timeout=TIMEOUT_MS):
        session.open_path(source) if source else session.open_sample("brain")
    if edits:
        assert session.update(**edits)
    return session.experiment.to_dict()


@pytest.mark.parametrize("source,arguments,edits", [
    (CT_SMALL, [], {}),
    (MR_SMALL, [], {}),
    (None, ["--demo"], {}),
    (CT_SMALL, ["--recon", "wavelet"], {"recon": {"name": "wavelet"}}),
    (MR_SMALL, ["--coils", "4"], {"operator": {"n_coils": 4}}),
    (None, ["--demo", "--recon", "deep-decoder-mri-4x"], {"recon": {"name": "deep-decoder-mri-4x"}}),
    (None, ["--demo", "--recon", "redcnn-ct-lowdose"], {"recon": {"name": "redcnn-ct-lowdose"}}),
], ids=["ct-file", "mr-file", "demo", "ct-wavelet", "mr-4-coils", "deep-decoder", "ct-model-on-demo"])
def test_the_cli_and_the_app_build_the_same_experiment(qtbot, session, source, arguments, edits):
    expected = cli_experiment(*([source] if source else []), *arguments)
    assert app_experiment(qtbot, session, source, **edits) == expected
    if source == CT_SMALL:  # a CT slice is attacked as CT, whatever the reconstruction
        assert expected["operator"]["kind"] == "ct"


def _cli_error(capsys, *arguments) -> str:
    assert main(["attack", "--demo", *arguments]) == 2
    return capsys.readouterr().err.strip().removeprefix("halluview-cli: error: ")


@pytest.mark.parametrize("edit,arguments", [
    ({"surrogate": "fbpconvnet-ct-sparse"}, ["--surrogate", "fbpconvnet-ct-sparse"]),
    ({"surrogate": "unet-mri-4x"}, ["--surrogate", "unet-mri-4x"]),
    ({"operator": {"n_coils": 0}}, ["--coils", "0"]),
    ({"threat": {"eps": 50.0}}, ["--eps", "50"]),
    ({"recon": {"name": "varnet-mri-4x-4coil"}, "operator": {"n_coils": 1}},
     ["--recon", "varnet-mri-4x-4coil", "--coils", "1"]),
])
def test_the_app_refuses_what_the_cli_refuses_in_the_same_words(qtbot, session, capsys, edit, arguments):
    errors = []
    session.errorOccurred.connect(lambda message, details: errors.append(message))
    with qtbot.waitSignal(session.scanChanged, timeout=TIMEOUT_MS):
        session.open_sample("brain")
    before = session.experiment
    assert not session.update(**edit)
    assert session.experiment == before  # not applied, and not silently dropped either
    assert errors == [_cli_error(capsys, *arguments)]


def test_opening_a_session_never_unpickles_on_the_files_word(qtbot, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(main_window_module, "show_error", lambda *a, **k: None)
    weights = malicious_checkpoint(tmp_path / "evil.pt")
    experiment = Experiment(source=SourceConfig(image_size=32), device="cpu",
                            recon=ReconConfig(name="checkpoint", weights=str(weights), allow_pickle=True))
    saved = tmp_path / "s.json"
    saved.write_text(json.dumps({"halluview_session": 1, "experiment": experiment.to_dict(), "slice": 0,
                                 "regions": [], "runs": []}))
    window = MainWindow()
    qtbot.addWidget(window)
    asked = []
    monkeypatch.setattr(window.model_panel, "confirm_allow_pickle", lambda path: asked.append(path) or False)
    from halluview.gui import export

    with qtbot.waitSignal(window.session.errorOccurred, timeout=TIMEOUT_MS) as refusal:
        export.open_session(window, str(saved))
    window.session.jobs.wait()
    assert "pickled Python objects" in refusal.args[0]
    assert asked == [str(weights)]  # the app asks the user ...
    assert not (tmp_path / MARKER).exists() and window.session.experiment.recon.allow_pickle is False  # ... who said no
