"""The app's session and halluview-cli build the same experiment from the same file and the same choices, the app
refuses what the CLI refuses (with the same words), and a saved session never grants permission to unpickle."""
import json

import numpy as np
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


# --- the session's rules, through the Qt adapter ----------------------------------------------------------------
DEMO_REGION = {"kind": "ellipse", "xywh": [74, 44, 14, 14]}
QUICK = {"recon": {"name": "zero-filled"}, "optimizer": {"steps": 3}}


@pytest.fixture
def live(qtbot):
    """A session that computes its previews and runs (CPU, small)."""
    live = Session()
    live.update(device="cpu")
    yield live
    live.jobs.cancel()
    live.jobs.wait()


def test_the_demo_region_comes_once_and_clear_stays_clear(qtbot, live):
    with qtbot.waitSignal(live.previewReady, timeout=TIMEOUT_MS):
        live.open_sample("brain", initial_region=DEMO_REGION)
    assert live.regions.shapes == [DEMO_REGION]
    live.regions.clear()
    live.regions_edited()
    with qtbot.waitSignal(live.previewReady, timeout=TIMEOUT_MS):
        assert live.update(operator={"acceleration": 8.0})
    assert live.regions.shapes == []


def test_run_binds_the_previews_reconstruction_instead_of_building_it(qtbot, live, monkeypatch):
    from halluview.core import problem

    built = []
    real = problem.build_reconstructor
    monkeypatch.setattr(problem, "build_reconstructor",
                        lambda config, op: built.append(config.name) or real(config, op))
    live.update(optimizer={"steps": 2})
    with qtbot.waitSignal(live.previewReady, timeout=TIMEOUT_MS):
        live.open_sample("brain")
    assert built == ["unet-mri-4x"]
    with qtbot.waitSignal(live.runEnded, timeout=TIMEOUT_MS) as ended:
        live.start_attack()
    assert ended.args[0].status == "done" and built == ["unet-mri-4x"]


def test_changing_the_slice_mid_run_cancels_it_and_shows_the_new_slice(qtbot, live, tmp_path):
    np.save(tmp_path / "vol.npy", np.random.default_rng(1).random((3, 32, 32)).astype(np.float32))
    live.update(recon={"name": "zero-filled"}, optimizer={"steps": 5000})
    with qtbot.waitSignal(live.previewReady, timeout=TIMEOUT_MS):
        live.open_path(str(tmp_path / "vol.npy"))
    with qtbot.waitSignal(live.stepArrived, timeout=TIMEOUT_MS):
        record = live.start_attack()
    steps, on_screen = [], []
    live.stepArrived.connect(steps.append)
    live.selectedRunChanged.connect(on_screen.append)
    with qtbot.waitSignals([live.runEnded, live.previewReady], timeout=TIMEOUT_MS, order="strict"):
        live.set_slice(0)
    assert record.status == "cancelled" and "slice changed to 0" in record.note and "cancelled" in record.label
    assert steps == [] and on_screen == [None] and live.selected is None
    assert live.preview.config["source"]["slice"] == 0 and not live.jobs.attack_running


def test_old_numbers_leave_with_their_images(qtbot, live):
    live.update(**QUICK)
    with qtbot.waitSignal(live.previewReady, timeout=TIMEOUT_MS):
        live.open_sample("brain")
    on_screen = []
    live.selectedRunChanged.connect(on_screen.append)
    with qtbot.waitSignal(live.runEnded, timeout=TIMEOUT_MS):
        record = live.start_attack()
    assert on_screen == [record] and live.selected is record
    with qtbot.waitSignal(live.previewReady, timeout=TIMEOUT_MS):
        live.update(recon={"name": "tv"})  # another model: the run's numbers are not about this image
    assert on_screen == [record, None]
    live.select_run(record)
    with qtbot.waitSignal(live.previewReady, timeout=TIMEOUT_MS):
        live.open_sample("ct-small")
    assert on_screen == [record, None, record, None]


def test_the_app_never_asks_to_pass_a_command_line_option(qtbot, live):
    live.update(**QUICK)
    with qtbot.waitSignal(live.previewReady, timeout=TIMEOUT_MS):
        live.open_sample("brain")
    live.update(objective={"kind": "region"})
    with pytest.raises(ValueError) as refusal:
        live.start_attack()
    assert str(refusal.value) == "the 'region' objective needs a region: draw one on the image"


def test_leaving_and_restoring_the_session_stops_the_tours_run(qtbot, live):
    live.update(**QUICK)
    with qtbot.waitSignal(live.previewReady, timeout=TIMEOUT_MS):
        live.open_sample("ct-small")
    live.regions.add({"kind": "rect", "xywh": [40, 40, 10, 10]})
    mine = live.snapshot()
    live.update(optimizer={"steps": 5000}, threat={"eps": 0.02})
    with qtbot.waitSignal(live.stepArrived, timeout=TIMEOUT_MS):
        tours = live.start_attack()
    with qtbot.waitSignals([live.runEnded, live.previewReady], timeout=TIMEOUT_MS):
        live.restore_snapshot(mine)
    assert tours.status == "cancelled" and live.runs == [] and live.experiment.threat.eps == 0.01
    assert live.regions.shapes == [{"kind": "rect", "xywh": [40, 40, 10, 10]}]
