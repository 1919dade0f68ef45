"""The app's study from the open scan and the user's choices: what is shared, what varies, what typed axes mean."""
import pytest

from halluview.core.choices import Choices, edited, experiment_for
from halluview.core.errors import ExperimentError
from halluview.core.experiment import ScanFacts
from halluview.core.samples import load_sample
from halluview.core.study.grid import cells
from halluview.core.study.shared import app_study, parse_eps_percent, parse_slices, recons_for, shared_choices

BRAIN = ScanFacts.of(load_sample("brain"))


def test_typed_slices_and_ranges():
    assert parse_slices("12, 14-16", 20) == (12, 14, 15, 16)
    assert parse_slices("3 1;3", 4) == (1, 3)
    assert parse_slices("0 - 2", 3) == (0, 1, 2)
    for text, words in (("5-3", "backwards"), ("20", "past the last slice [(]19[)]"), ("a", "'a' is not"),
                        ("", "at least")):
        with pytest.raises(ExperimentError, match=words):
            parse_slices(text, 20)


def test_typed_eps_are_percentages_of_y():
    assert parse_eps_percent("0.25, 1 %, 2.5") == (0.0025, 0.01, 0.025)
    assert parse_eps_percent("2 2") == (0.02,)
    for text in ("0", "101", "-1", "x"):
        with pytest.raises(ExperimentError):
            parse_eps_percent(text)


def test_reconstructions_that_read_the_acquisition():
    mri, ct = recons_for("mri"), recons_for("ct")
    assert {"unet-mri-4x", "varnet-mri-4x-4coil", "zero-filled", "tv"} <= set(mri) and "fbp" not in mri
    assert {"fbpconvnet-ct-sparse", "fbp", "tv"} <= set(ct) and not {"unet-mri-4x", "zero-filled"} & set(ct)
    assert "checkpoint" not in mri  # a study's reconstruction is a name: no file to point to


def test_the_study_shares_the_main_windows_choices_except_what_varies():
    choices = edited(Choices(source={"demo": "brain"}), "mri", recon={"name": "unet-mri-4x"},
                     threat={"norm": "linf", "eps": 5.0, "eps_mode": "absolute"}, objective={"kind": "region"},
                     optimizer={"steps": 7}, region={"kind": "rect", "xywh": [10, 10, 8, 8]}, seed=3, device="cpu")
    experiment = experiment_for(BRAIN, choices)
    shared = shared_choices(experiment, choices)
    assert shared["threat"]["norm"] == "linf" and shared["threat"]["eps_mode"] == "relative"
    assert "eps" not in shared["threat"] and "operator" not in shared  # the U-Net brought its acquisition
    config = app_study(experiment, choices, ["unet-mri-4x", "tv"], (0.01, 0.02), (0,), 2)
    assert config.sources == ({"demo": "brain"},) and config.seeds == (3, 4) and config.slices == (0,)
    grid = cells(config, lambda _source: BRAIN)
    assert len(grid) == 8
    for cell in grid:
        e = cell.experiment
        assert (e.threat.norm, e.threat.eps, e.threat.eps_mode) == ("linf", cell.labels["eps"], "relative")
        assert e.objective.kind == "region" and e.region == {"kind": "rect", "xywh": [10, 10, 8, 8]}
        assert e.optimizer.steps == 7 and e.device == "cpu" and e.recon.name == cell.labels["recon"]
    unet = next(c.experiment for c in grid if c.labels["recon"] == "unet-mri-4x")
    assert unet.operator == experiment.operator  # the same acquisition as the single attack in the app


def test_acquisition_settings_the_user_chose_are_shared():
    choices = edited(Choices(source={"demo": "brain"}), "mri", operator={"acceleration": 8.0})
    experiment = experiment_for(BRAIN, choices)
    config = app_study(experiment, choices, ["zero-filled", "unet-mri-4x"], (0.01,), (0,), 1)
    assert all(c.experiment.operator.acceleration == 8.0 for c in cells(config, lambda _source: BRAIN))
    with pytest.raises(ExperimentError, match="tick at least one"):
        app_study(experiment, choices, [], (0.01,), (0,), 1)
