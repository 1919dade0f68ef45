"""The app's study from the open scan and the user's choices: what is shared, what varies, what typed axes mean."""
import pytest

from halluview.core.choices import Choices, edited, experiment_for
from halluview.core.errors import ExperimentError
from halluview.core.experiment import ScanFacts
from halluview.core.samples import load_sample
from halluview.core.study.grid import cells
from halluview.core.study.shared import (
    app_study,
    parse_eps_percent,
    parse_slices,
    recons_for,
    shared_choices,
    user_recon,
)

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
    assert "checkpoint" not in mri  # a user's file is added with user_recon, not offered by name


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


def _unet_state_dict(path):
    import fastmri_reference  # noqa: F401  - stand-ins for fastMRI's data loaders before fastmri.models is imported
    import torch
    from fastmri.models import Unet as ReferenceUnet

    torch.save(ReferenceUnet(1, 1, chans=8, num_pool_layers=2).state_dict(), path)
    return path


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
def test_your_file_is_a_checkpoint_or_torchscript_as_the_core_reads_it(tmp_path):
    import torch

    weights = _unet_state_dict(tmp_path / "mine.pt")
    found = user_recon(weights)
    assert found.recon == {"name": "checkpoint", "weights": str(weights)}
    assert found.description == "fastMRI U-Net, 8 channels, 2 pools"
    scripted = tmp_path / "sharpen.pt"  # the same suffix: the file's content decides, not its name
    torch.jit.script(torch.nn.Conv2d(1, 1, 3, padding=1)).save(str(scripted))
    assert user_recon(scripted).recon == {"name": "torchscript", "weights": str(scripted)}


@pytest.mark.parametrize("name, words", [
    ("notes.txt", "notes.txt: not a model file"),
    ("garbage.pt", "garbage.pt: not a readable PyTorch checkpoint"),
    ("garbage.ts", "garbage.ts: not a TorchScript file"),
    ("encoder.pt", "encoder.pt: it holds neither a fastMRI U-Net"),
    ("module.pt", "module.pt: it holds pickled Python objects, which could run code, and a study never unpickles"),
    ("missing.pt", "missing.pt: no such file"),
])
def test_a_file_that_cannot_be_a_model_is_refused_in_one_line(tmp_path, name, words):
    import fastmri_reference  # noqa: F401
    import torch
    from fastmri.models import Unet as ReferenceUnet

    path = tmp_path / name
    if name == "encoder.pt":
        torch.save({"encoder.weight": torch.zeros(3)}, path)
    elif name == "module.pt":
        torch.save(ReferenceUnet(1, 1, chans=4, num_pool_layers=1), path)  # the module pickled, not its weights
    elif name != "missing.pt":
        path.write_bytes(b"not a model")
    with pytest.raises(ExperimentError, match=words) as refused:
        user_recon(path)
    assert "\n" not in str(refused.value)


def test_the_apps_study_takes_your_file_and_never_with_unpickling(tmp_path):
    weights = str(_unet_state_dict(tmp_path / "mine.pt"))
    choices = edited(Choices(source={"demo": "brain"}), "mri", recon={"name": "zero-filled"})
    experiment = experiment_for(BRAIN, choices)
    mine = {"name": "checkpoint", "weights": weights}
    config = app_study(experiment, choices, ["zero-filled", mine], (0.01,), (0,), 1)
    grid = cells(config, lambda _source: BRAIN)
    assert [c.labels["recon"] for c in grid] == ["zero-filled", "checkpoint (mine.pt)"]
    assert (grid[1].experiment.recon.name, grid[1].experiment.recon.weights) == ("checkpoint", weights)
    assert not grid[1].experiment.recon.allow_pickle
    with pytest.raises(ExperimentError, match="cannot allow unpickling"):
        app_study(experiment, choices, [{**mine, "allow_pickle": True}], (0.01,), (0,), 1)
