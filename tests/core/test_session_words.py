"""What the session shows in words and numbers comes from one place in core: messages that fit both front ends, one
ε unit conversion, one HU mapping, typed settings with their defaults written once."""
import numpy as np
import pytest
import torch

from halluview.core.attacks.objectives import Objective, ObjectiveConfig
from halluview.core.attacks.threat import ThreatConfig, eps_in_mode, reference_size
from halluview.core.choices import Choices, experiment_for
from halluview.core.errors import APP, CLI, ExperimentError, message_for
from halluview.core.experiment import ScanFacts
from halluview.core.scan import Scan
from halluview.core.session import SessionModel
from halluview.core.session_records import RunRecord
from halluview.core.settings import LesionSettings, NoiseSettings

MR = ScanFacts("/data/brain.nii", "MR", "a.u.", 1, (64, 64), None)


def refusal(**sections) -> ExperimentError:
    experiment = experiment_for(MR, Choices(source={"path": MR.source}, **sections))
    with pytest.raises(ExperimentError) as caught:
        experiment.validate()
    return caught.value


@pytest.mark.parametrize("sections,cli,app", [
    ({"objective": {"kind": "insert"}}, "pass --region", "draw one on the image"),
    ({"threat": {"domain": "patch"}}, "pass --region", "draw one on the image"),
    ({"objective": {"kind": "insert", "lesion": {"shape": "line"}}, "region": {"kind": "rect", "xywh": [1, 1, 4, 4]}},
     "--lesion-line", "draw it with the line tool"),
])
def test_messages_name_no_front_end_and_each_front_end_adds_its_hint(sections, cli, app):
    error = refusal(**sections)
    assert "--" not in str(error) and "draw" not in str(error)
    assert message_for(error, CLI).startswith(str(error)) and cli in message_for(error, CLI)
    assert app in message_for(error, APP) and "--" not in message_for(error, APP)


def test_the_objective_itself_says_it_needs_a_region_in_neutral_words():
    with pytest.raises(ExperimentError) as caught:
        Objective(ObjectiveConfig(kind="region"), torch.zeros(1, 8, 8))
    assert str(caught.value) == "the 'region' objective needs a region"
    assert message_for(caught.value, APP) == "the 'region' objective needs a region: draw one on the image"


def test_a_plain_error_reads_the_same_everywhere():
    assert message_for(ValueError("no such file"), CLI) == message_for(ValueError("no such file"), APP) == \
        "no such file"


# --- ε in either unit --------------------------------------------------------------------------------------------
def test_relative_and_absolute_eps_convert_through_the_references_size():
    y = torch.tensor([[3.0, -4.0]])  # ‖y‖2 = 5, ‖y‖∞ = 4
    assert reference_size(ThreatConfig(), y, None) == pytest.approx(5.0)
    assert reference_size(ThreatConfig(norm="linf"), y, None) == pytest.approx(4.0)
    assert reference_size(ThreatConfig(domain="image"), y, None) is None  # no imaged object
    assert reference_size(ThreatConfig(per_coil=True), y, None) is None  # one size per coil
    assert eps_in_mode(0.02, "relative", "absolute", 5.0) == pytest.approx(0.1)
    assert eps_in_mode(0.1, "absolute", "relative", 5.0) == pytest.approx(0.02)
    assert eps_in_mode(0.02, "relative", "absolute", None) == 0.02  # unknown size: unchanged


def test_the_run_history_label_uses_the_formatter():
    experiment = experiment_for(None, Choices(threat={"eps": 0.025, "norm": "linf"})).to_dict()
    label = "#3 unet-mri-4x · LINF ε 2.5 % ‖y‖∞ · untargeted · running"
    assert RunRecord(3, experiment).label == label


# --- lesion intensities in the scan's units (the one mapping: core/units.py) --------------------------------------
def ct_scan(values):
    return Scan(volume=np.asarray(values, np.float32)[None], modality="CT", units="HU", source="/data/ct.dcm")


def test_a_lesion_intensity_reads_and_writes_in_hu_on_a_ct():
    model = SessionModel()
    model.scan_loaded(ct_scan([[-1000.0, 0.0, 40.0, 1000.0] * 2] * 8), model.open_request({"path": "/data/ct.dcm"}))
    assert model.set_lesion_intensity(60.0)
    assert model.experiment.objective.lesion["intensity"] == pytest.approx(1.06)  # water is 1, air 0
    assert model.lesion_intensity_in_scan_units() == pytest.approx(60.0)
    assert model.set_lesion_intensity(None) and model.lesion_intensity_in_scan_units() is None


def test_other_units_scale_each_slice_to_its_own_range():
    volume = np.tile(np.array([[[10.0, 30.0]], [[0.0, 100.0]]], np.float32), (1, 8, 4))
    model = SessionModel()
    model.scan_loaded(Scan(volume=volume, units="a.u.", source="/data/v.npy"), model.open_request({"path": "/v"}))
    model.set_slice(0)
    assert model.set_lesion_intensity(20.0) and model.lesion().intensity == pytest.approx(0.5)
    model.set_slice(1)
    assert model.lesion_intensity_in_scan_units() == pytest.approx(50.0)  # the same working value on this slice


# --- typed settings ----------------------------------------------------------------------------------------------
def test_noise_settings_check_at_the_boundary_and_record_as_before():
    gaussian = {"kind": "gaussian", "sigma": 0.01, "relative": True}
    assert NoiseSettings.from_dict(gaussian).to_dict() == gaussian
    assert NoiseSettings.from_dict(None).to_dict() is None and NoiseSettings.from_dict({"kind": "none"}) == \
        NoiseSettings()
    with pytest.raises(ExperimentError, match="sigma must be non-negative"):
        NoiseSettings(kind="gaussian", sigma=-1.0)
    with pytest.raises(ExperimentError, match="unknown noise settings: colour"):
        NoiseSettings.from_dict({"kind": "gaussian", "sigma": 0.1, "colour": "pink"})


def test_lesion_settings_check_at_the_boundary_and_record_as_before():
    line = {"shape": "line", "start_xy": [1.0, 2.0], "end_xy": [3.0, 4.0], "width_px": 1.5, "intensity": 0.9}
    assert LesionSettings.from_dict(line).to_dict() == line
    assert LesionSettings.from_dict({}).to_dict() == {"shape": "disc"}
    for bad, words in (({"shape": "star"}, "lesion must be disc or line"), ({"radius_px": -2}, "must be positive"),
                       ({"intensity": float("nan")}, "finite number"), ({"center_xy": [1]}, "two numbers")):
        with pytest.raises(ExperimentError, match=words):
            LesionSettings.from_dict(bad)


def test_recon_parameter_defaults_are_written_once():
    """Guards against change: the dict defaults are the typed parameters' (the values are the published ones)."""
    from halluview.core.recon.config import PARAM_DEFAULTS, TVParams, WaveletParams, resolved_params

    assert PARAM_DEFAULTS["tv"] == {"lam": TVParams.lam, "n_iter": TVParams.n_iter}
    assert resolved_params("wavelet", {"levels": 2}) == {"threshold": WaveletParams.threshold, "wavelet": "db4",
                                                         "levels": 2, "n_iter": 50}
