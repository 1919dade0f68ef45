"""Readable files and loadable models that cannot be attacked are user errors before the attack loop, never an
internal error in the middle of it."""
import numpy as np
import pytest
import torch
from hostile_inputs import (
    constant_volume,
    fastmri_tiny,
    fastmri_with_max,
    fastmri_without_coils,
    fastmri_without_sampled_columns,
    torchscript_model,
)

from halluview.core.choices import Choices, experiment_for
from halluview.core.data_checks import check_gradient, checked_data_range, clean_reconstruction
from halluview.core.experiment import ScanFacts
from halluview.core.io import ScanReadError, read_scan
from halluview.core.physics.mri import build_mri_operator
from halluview.core.problem import build_problem
from halluview.core.recon.classical import BaselineRecon
from halluview.core.validation import ExperimentError


def problem_for(path, **sections):
    scan = read_scan(path)
    experiment = experiment_for(ScanFacts.of(scan), Choices(source={"path": str(path)}, device="cpu", **sections))
    return build_problem(experiment, scan)


@pytest.mark.parametrize("value", [float("nan"), -1.0, 0.0, float("inf"), "abc"])
def test_a_fastmri_max_that_is_no_positive_number_is_refused(tmp_path, value):
    path = fastmri_with_max(tmp_path / "knee.h5", value)
    with pytest.raises((ExperimentError, ScanReadError), match="knee.h5"):
        problem_for(path)


def test_the_checked_data_range_is_the_number_itself():
    assert checked_data_range(None, "f") is None
    assert checked_data_range(np.float32(2.5), "f") == 2.5
    assert checked_data_range(np.array([7.0]), "f") == 7.0
    with pytest.raises(ExperimentError, match="f: its 'max' attribute"):
        checked_data_range(np.array([1.0, 2.0]), "f")


@pytest.mark.parametrize("make,message", [
    (fastmri_without_sampled_columns, "no k-space column is sampled"),
    (fastmri_without_coils, "its k-space holds no coil"),
    (fastmri_tiny, "smaller than the 7×7 SSIM window"),
    (constant_volume, "is constant (every pixel 3)"),
])
def test_files_that_leave_nothing_to_attack(tmp_path, make, message):
    path = make(tmp_path / ("scan.npy" if make is constant_volume else "scan.h5"))
    with pytest.raises((ExperimentError, ScanReadError), match="scan") as refusal:
        problem_for(path, recon={"name": "zero-filled"})
    if isinstance(refusal.value, ExperimentError):
        assert message in str(refusal.value)


@pytest.mark.parametrize("kind,message", [
    ("nan", "gives NaN or infinite pixels"),
    ("zero", "gives an all-zero image"),
    ("detached", "does not depend on the measurement (no gradient)"),
    ("constant", "does not depend on the measurement (no gradient)"),
])
def test_models_whose_output_cannot_be_attacked(tmp_path, kind, message):
    weights = torchscript_model(tmp_path / f"{kind}.pt", kind)
    choices = Choices(source={"demo": "brain", "image_size": 32}, device="cpu",
                      recon={"name": "torchscript", "weights": str(weights)})
    experiment = experiment_for(None, choices)
    with pytest.raises(ExperimentError, match=f"torchscript \\({kind}.pt\\)") as refusal:
        build_problem(experiment)
    assert message in str(refusal.value)


def test_a_differentiable_reconstruction_passes_the_probe():
    op = build_mri_operator((16, 16))
    y = op(torch.rand(1, 16, 16))
    recon = BaselineRecon(op)
    clean = clean_reconstruction(recon, y, "zero-filled")
    assert clean.shape[-2:] == (16, 16)
    check_gradient(recon, y, "zero-filled")


def test_a_network_that_cannot_take_the_shape_is_a_user_error():
    class Picky(torch.nn.Module):
        def forward(self, y):
            return torch.nn.functional.conv2d(y.abs(), torch.ones(1, 3, 3, 3))  # expects three channels

    op = build_mri_operator((16, 16))
    with pytest.raises(ExperimentError, match="picky could not reconstruct this 1×16×16 measurement "
                                              r"\(RuntimeError: "):
        clean_reconstruction(Picky(), op(torch.rand(1, 16, 16)), "picky")
