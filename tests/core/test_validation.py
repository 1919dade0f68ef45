"""Experiment.validate: every range, the reconstruction against the acquisition, the device and the output folder,
each refused with one line before any work starts."""
import os
import sys

import pytest
import torch

from halluview.core import validation
from halluview.core.choices import Choices, experiment_for
from halluview.core.experiment import ScanFacts
from halluview.core.validation import ExperimentError, check_device, check_output_folder

MR = ScanFacts("/data/brain.nii", "MR", "a.u.", 20, (256, 256), None)
CT = ScanFacts("/data/head.dcm", "CT", "HU", 1, (128, 128), None)


def build(facts=MR, **sections):
    sections.setdefault("source", {"path": facts.source})
    return experiment_for(facts, Choices(**sections))


@pytest.mark.parametrize("sections,message", [
    ({"operator": {"n_coils": 0}}, "coils must be 1..64, not 0"),
    ({"operator": {"acceleration": 0.0}}, "acceleration must be at least 1"),
    ({"operator": {"acceleration": float("nan")}}, "acceleration must be at least 1"),
    ({"operator": {"center_fraction": 1.5}}, "centre fraction must be in (0, 1]"),
    ({"operator": {"center_fraction": 0.0}}, "centre fraction must be in (0, 1]"),
    ({"operator": {"noise": {"kind": "gaussian", "sigma": -1.0, "relative": True}}}, "sigma must be non-negative"),
    ({"operator": {"noise": {"kind": "poisson_transmission", "incident_flux": 1e3}}}, "does not apply to MRI"),
    ({"optimizer": {"step_size": -1.0}}, "step size must be a positive fraction"),
    ({"optimizer": {"step_size": float("inf")}}, "step size must be a positive fraction"),
    ({"threat": {"eps": 50.0}}, "ε = 50 is 5000 % of the clean measurement's size"),
    ({"threat": {"eps": 1.0}}, None),  # 100 % of ‖y‖ is the largest relative budget
    ({"threat": {"eps": 50.0, "eps_mode": "absolute"}}, None),
    ({"source": {"path": MR.source, "image_size": 0}}, "image size must be 16..2048 pixels"),
    ({"source": {"path": MR.source, "image_size": 8}}, "the SSIM window is 7 pixels"),
    ({"source": {"path": MR.source, "slice": 99}}, "slice 99 is outside /data/brain.nii: it has 20 slices (0..19)"),
    ({"source": {"path": MR.source, "slice": -1}}, "slice must be a whole number ≥ 0"),
    ({"source": {"demo": "brain", "choices": {"series": "1"}}}, "holds one scan"),
    ({"objective": {"kind": "insert", "lesion": {"shape": "line"}}}, "a line lesion needs its end points"),
    ({"objective": {"outside_weight": float("nan")}}, "outside weight must be a number ≥ 0"),
    ({"recon": {"name": "tv", "params": {"n_iter": 0}}}, "tv n_iter must be a whole number ≥ 1"),
    ({"seed": -3}, "seed must be a whole number ≥ 0"),
])
def test_each_setting_out_of_range_is_one_line(sections, message):
    region = {"region": {"kind": "rect", "xywh": [1, 1, 4, 4]}} if "objective" in sections else {}
    experiment = build(**sections, **region)
    if message is None:
        experiment.validate()
        return
    with pytest.raises(ExperimentError) as refusal:
        experiment.validate()
    assert message in str(refusal.value) and "\n" not in str(refusal.value)


@pytest.mark.parametrize("facts,sections,message", [
    (MR, {"operator": {"kind": "mri"}, "recon": {"name": "fbpconvnet-ct-sparse"}},
     "fbpconvnet-ct-sparse reconstructs CT, not MRI measurements"),
    (MR, {"recon": {"name": "varnet-mri-4x-4coil"}, "operator": {"n_coils": 1}},
     "varnet-mri-4x-4coil is a multi-coil network"),
    (MR, {"recon": {"name": "checkpoint", "weights": __file__, "params": {"arch": "fastmri-varnet"}}},
     "checkpoint is a multi-coil network"),
    (CT, {"operator": {"kind": "ct"}, "recon": {"name": "zero-filled"}}, "zero-filled is the MRI baseline; CT "
                                                                         "measurements have fbp"),
    (MR, {"surrogate": "unet-mri-4x"}, "the surrogate is the attacked reconstruction itself"),
    (MR, {"surrogate": "redcnn-ct-lowdose"}, "the surrogate redcnn-ct-lowdose reconstructs CT, not MRI"),
    (MR, {"surrogate": "checkpoint"}, "the surrogate must be a built-in model or one of"),
    (MR, {"recon": {"name": "checkpoint", "weights": "/missing.pt"}}, "/missing.pt: no such file"),
    (ScanFacts("/tiny.h5", "MR", "a.u.", 2, (4, 4), 1), {}, "/tiny.h5: the image is only 4×4 pixels"),
    (ScanFacts("/k.h5", "MR", "a.u.", 2, (32, 32), 0), {}, "/k.h5: its k-space holds no coil"),
    (ScanFacts("/k.h5", "MR", "a.u.", 2, (32, 32), 1), {"source": {"path": "/k.h5", "image_size": 64}},
     "its own k-space is attacked as recorded, so it cannot be resized"),
])
def test_the_reconstruction_must_fit_the_acquisition_and_the_scan(facts, sections, message):
    with pytest.raises(ExperimentError, match=message.replace("(", r"\(")):
        build(facts, **sections).validate()


@pytest.mark.parametrize("sections", [
    {"recon": {"name": "unet-mri-4x"}, "operator": {"n_coils": 4}},  # single-coil nets read the coil-combined image
    {"recon": {"name": "zero-filled"}, "operator": {"n_coils": 4}},
    {"recon": {"name": "varnet-mri-4x-4coil"}},
    {"recon": {"name": "tv"}, "operator": {"kind": "ct"}},
    {"recon": {"name": "tv"}, "surrogate": "zero-filled"},
])
def test_what_fits_passes(sections):
    build(**sections).validate()


def test_devices_that_are_not_there_are_refused(monkeypatch):
    check_device("cpu")
    check_device("auto")
    with pytest.raises(ExperimentError, match="unknown device 'gpu0'"):
        check_device("gpu0")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ExperimentError, match="device cuda: torch finds no CUDA GPU on this computer"):
        check_device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    check_device("cuda:0")
    with pytest.raises(ExperimentError, match="device cuda:3: this computer has 1 CUDA device"):
        check_device("cuda:3")


def test_the_output_folder_is_checked_before_anything_is_written(tmp_path):
    series = tmp_path / "series"
    series.mkdir()
    (series / "a.dcm").write_bytes(b"x")
    scan = tmp_path / "scan.npy"
    scan.write_bytes(b"x")
    check_output_folder(tmp_path / "new" / "deeper")  # fine, and nothing is made yet
    assert not (tmp_path / "new").exists() and not list(tmp_path.glob(".halluview-probe-*"))
    refusals = {scan: "that is the input", series / "out": "inside the input folder",
                series: "that is the input", tmp_path / "scan.npy" / "out": "is a file, not a folder"}
    for out, message in refusals.items():
        with pytest.raises(ExperimentError, match=message):
            check_output_folder(out, str(series if "series" in str(out) else scan))
    with pytest.raises(ExperimentError, match="output folder exists and is not empty"):
        check_output_folder(series)
    with pytest.raises(ExperimentError, match="a file is in the way"):
        check_output_folder(scan)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc, which no one can write into")
def test_a_read_only_place_is_refused():
    with pytest.raises(ExperimentError, match="cannot write into /proc"):
        check_output_folder("/proc/halluview-out")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_folder_without_write_permission_is_refused(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(ExperimentError, match="cannot write into"):
            check_output_folder(locked / "out")
    finally:
        locked.chmod(0o700)


def test_the_size_limits_are_the_documented_ones():
    assert validation.MIN_IMAGE_SIZE >= validation.SSIM_WINDOW == 7 and validation.MAX_RELATIVE_EPS == 1.0
