"""experiment_for: one function turns (scan facts, the user's choices) into the experiment, for the CLI and the app."""
import pydicom
import pytest
from pydicom.data import get_testdata_file

from halluview.core.choices import (
    DIRECT,
    Choices,
    attacked,
    attacked_line,
    edited,
    experiment_for,
    opened,
    operator_summary,
)
from halluview.core.experiment import ScanFacts
from halluview.core.io import read_scan
from halluview.core.physics.mri import build_mri_operator
from halluview.core.recon.factory import build_reconstructor
from halluview.core.validation import ExperimentError

CT = ScanFacts("/data/head.dcm", "CT", "HU", 5, (128, 128), None)
MR = ScanFacts("/data/brain.nii", "MR", "a.u.", 20, (256, 256), None)
KNEE = ScanFacts("/data/knee.h5", "MR", "a.u.", 30, (320, 320), 15)


def files(**source) -> Choices:
    return Choices(source={"path": "/data/scan", **source})


@pytest.mark.parametrize("facts,chosen,expected", [
    (CT, {}, ("ct", "fbpconvnet-ct-sparse")),
    (ScanFacts("/x.dcm", "OT", "HU", 1, (64, 64)), {}, ("ct", "fbpconvnet-ct-sparse")),
    (MR, {}, ("mri", "unet-mri-4x")),
    (KNEE, {}, ("mri", "unet-mri-4x")),
    (CT, {"operator": {"kind": "denoise"}}, ("denoise", "identity")),
    (MR, {"recon": {"name": "fbp"}}, ("ct", "fbp")),  # the baseline named decides the acquisition
    (MR, {"recon": {"name": "redcnn-ct-lowdose"}}, ("ct", "redcnn-ct-lowdose")),
    (CT, {"recon": {"name": "zero-filled"}}, ("mri", "zero-filled")),
])
def test_unset_choices_follow_the_scan_and_the_reconstruction(facts, chosen, expected):
    experiment = experiment_for(facts, Choices(source={"path": facts.source}, **chosen))
    assert (experiment.operator.kind, experiment.recon.name) == expected
    assert experiment.scan_facts == facts
    if expected == ("ct", "fbpconvnet-ct-sparse"):  # the CT model brings the views it was trained for
        assert (experiment.operator.angles, experiment.operator.n_angles) == ("sparse", 30)
    experiment.validate()


def test_slice_size_and_coils_that_need_the_scan():
    experiment = experiment_for(MR, files())
    assert experiment.source.slice == 10  # the middle one
    assert experiment.source.image_size is None  # a built-in network runs at the slice's own size
    assert experiment_for(CT, files()).source.image_size is None
    assert experiment_for(MR, files(image_size=64, slice=3)).source.image_size == 64
    assert experiment_for(MR, Choices(source={"path": "/x"}, recon={"name": "tv"})).source.image_size is None
    knee = experiment_for(KNEE, files())
    assert (knee.operator.n_coils, knee.source.image_size) == (15, None)  # the file's own k-space, as recorded
    with pytest.raises(ExperimentError, match="its own k-space has 15 coils; the coil count comes from the file"):
        experiment_for(KNEE, Choices(source={"path": "/k"}, operator={"n_coils": 4}))


@pytest.mark.parametrize("name,module_attribute", [("wavelet", "n_iter"), ("tv", "n_iter"), ("tv", "lam"),
                                                   ("wavelet", "threshold")])
def test_recorded_parameters_are_the_ones_the_reconstruction_uses(name, module_attribute):
    experiment = experiment_for(MR, Choices(recon={"name": name}))
    built = build_reconstructor(experiment.recon, build_mri_operator((16, 16)))
    assert getattr(built, module_attribute) == experiment.recon.params[module_attribute]
    assert experiment_for(None, Choices(recon={"name": "wavelet"})).recon.params["n_iter"] == 50


def test_picking_a_model_brings_its_acquisition_unless_the_same_edit_sets_it():
    choices = edited(Choices(operator={"acceleration": 8.0, "n_coils": 2}), "mri", recon={"name": "tv"})
    assert choices.operator == {"acceleration": 8.0, "n_coils": 2}  # a classical method brings nothing
    choices = edited(choices, "mri", recon={"name": "varnet-mri-4x-4coil"})
    assert experiment_for(MR, choices).operator.n_coils == 4 and experiment_for(MR, choices).operator.acceleration == 4
    choices = edited(choices, "mri", recon={"name": "unet-mri-4x"}, operator={"acceleration": 6.0})
    assert experiment_for(MR, choices).operator.acceleration == 6.0


def test_the_surrogate_returns_to_its_default_with_a_new_reconstruction_or_acquisition():
    choices = edited(Choices(), "mri", surrogate="dncnn-mri-4x")
    assert experiment_for(MR, choices).surrogate == "dncnn-mri-4x"
    assert experiment_for(MR, edited(choices, "mri", recon={"name": "deep-decoder-mri-4x"})).surrogate == "unet-mri-4x"
    assert edited(choices, "mri", operator={"kind": "ct"}).surrogate is None
    assert edited(choices, "mri", surrogate=None).surrogate == DIRECT
    assert experiment_for(MR, edited(choices, "mri", surrogate=None)).surrogate is None


def test_opening_a_scan_of_another_kind_chooses_its_acquisition_afresh():
    mri = edited(Choices(), "mri", recon={"name": "tv"}, operator={"acceleration": 8.0})
    ct = opened(mri, {"path": CT.source}, CT, "mri")
    assert (experiment_for(CT, ct).operator.kind, experiment_for(CT, ct).recon.name) == ("ct", "fbpconvnet-ct-sparse")
    kept = opened(mri, {"path": CT.source}, CT, "mri", adapt=False)  # a restored session: its settings stand
    assert experiment_for(CT, kept).recon.name == "tv"
    denoise = edited(Choices(), "mri", operator={"kind": "denoise"})
    assert experiment_for(CT, opened(denoise, {"path": CT.source}, CT, "denoise")).operator.kind == "denoise"
    coils = edited(Choices(), "mri", operator={"n_coils": 4})
    assert experiment_for(KNEE, opened(coils, {"path": KNEE.source}, KNEE, "mri")).operator.n_coils == 15


def test_a_choice_no_section_has_is_an_error():
    with pytest.raises(ExperimentError, match="unknown operator settings: accel"):
        experiment_for(MR, Choices(operator={"accel": 8}))
    with pytest.raises(ExperimentError, match="norm must be one of"):
        experiment_for(MR, Choices(threat={"norm": "l7"}))


def test_what_was_attacked_is_recorded_against_the_file_itself():
    path = get_testdata_file("CT_small.dcm", download=False)
    scan = read_scan(path)
    experiment = experiment_for(ScanFacts.of(scan), Choices(source={"path": path, "image_size": 64}))
    record = attacked(experiment.to_dict())
    assert record["original_size"] == list(pydicom.dcmread(path).pixel_array.shape)  # pydicom, not our reader
    assert (record["file"], record["slice"], record["n_slices"], record["resized_to"]) == (path, 0, 1, [64, 64])
    assert (record["model"], record["modality"], record["measurement"]) == ("fbpconvnet-ct-sparse", "CT",
                                                                             "simulated from the image")
    assert record["acquisition"] == operator_summary(experiment.operator) == "CT, parallel beam, 30 sparse views"
    spacing = [float(s) for s in pydicom.dcmread(path).PixelSpacing]
    assert record["geometry"]["pixel_spacing_mm"] == spacing
    assert record["geometry"]["working_spacing_mm"] == [2 * spacing[0], 2 * spacing[1]]
    line = attacked_line(experiment.to_dict())
    assert line == ("fbpconvnet-ct-sparse on CT, parallel beam, 30 sparse views (simulated from the image): "
                    "CT_small.dcm, slice 0 of 1, 128×128 px at 0.661×0.661 mm, resized to 64×64 (1.32×1.32 mm) "
                    "by choice")
    native = attacked(experiment_for(ScanFacts.of(scan), Choices(source={"path": path})).to_dict())
    assert native["resized_to"] is None and native["geometry"]["working_size"] == [128, 128]


@pytest.mark.parametrize("facts,chosen", [
    (MR, {}), (CT, {"recon": {"name": "wavelet"}, "threat": {"eps": 0.05}}), (KNEE, {"operator": {"kind": "mri"}}),
    (MR, {"recon": {"name": "deep-decoder-mri-4x"}, "seed": 3, "region": {"kind": "rect", "xywh": [1, 2, 3, 4]}}),
])
def test_a_saved_experiment_opened_again_is_the_same_experiment(facts, chosen):
    saved = experiment_for(facts, Choices(source={"path": facts.source}, **chosen))
    assert experiment_for(facts, Choices.of(saved)) == saved
