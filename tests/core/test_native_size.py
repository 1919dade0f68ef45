"""No silent resizing: every acquisition and every built-in reconstruction runs at the slice's own size and aspect
ratio; a working size is the user's choice, keeps the aspect ratio and is recorded."""
import numpy as np
import pytest
import torch

from halluview.core.attacks.run import run_to_end
from halluview.core.choices import Choices, attacked, experiment_for
from halluview.core.experiment import ScanFacts
from halluview.core.geometry import geometry, lesion_on_grid, working_shape
from halluview.core.phantoms import brain_phantom
from halluview.core.physics.base import real_inner
from halluview.core.physics.factory import build_operator
from halluview.core.problem import build_problem
from halluview.core.scan import Scan

SHAPE = (72, 56)  # rows × columns: neither square nor a multiple of 16


def slice_scan(units="a.u.", modality="MR"):
    image = brain_phantom(96, seed=3)[12:12 + SHAPE[0], 20:20 + SHAPE[1]]
    if units == "HU":
        image = image * 1000 - 1000
    return Scan(volume=image[None].astype(np.float32), modality=modality, units=units, source="/data/slice",
                spacing_mm=(3.0, 0.8, 0.7))


CASES = [("mri", "unet-mri-4x", {}), ("mri", "dncnn-mri-4x", {}), ("mri", "varnet-mri-4x-4coil", {"n_coils": 4}),
         ("mri", "tv", {}), ("mri", "wavelet", {}), ("mri", "zero-filled", {}),
         ("ct", "fbpconvnet-ct-sparse", {}), ("ct", "redcnn-ct-lowdose", {}), ("ct", "fbp", {}),
         ("denoise", "identity", {})]


@pytest.mark.parametrize("kind,recon,operator", CASES)
def test_every_reconstruction_runs_at_the_slices_own_size(kind, recon, operator):
    scan = slice_scan("HU", "CT") if kind == "ct" else slice_scan()
    choices = Choices(source={"path": "/data/slice"}, operator={"kind": kind, **operator}, recon={"name": recon},
                      optimizer={"steps": 1}, device="cpu")
    experiment = experiment_for(ScanFacts.of(scan), choices)
    problem = build_problem(experiment, scan)
    assert tuple(problem.clean.shape[-2:]) == SHAPE
    result = run_to_end(problem)
    assert result.perturbed.shape[-2:] == SHAPE and result.delta is not None
    record = attacked(experiment.to_dict())
    assert record["original_size"] == record["geometry"]["working_size"] == list(SHAPE)
    assert record["resized_to"] is None and record["geometry"]["pixel_spacing_mm"] == [0.8, 0.7]
    assert record["geometry"]["padded_to_square"] == (72 if kind == "ct" else None)


def test_a_working_size_is_the_longer_side_and_keeps_the_aspect_ratio():
    scan = slice_scan()
    experiment = experiment_for(ScanFacts.of(scan), Choices(source={"path": "/data/slice", "image_size": 36},
                                                            optimizer={"steps": 1}, device="cpu"))
    problem = build_problem(experiment, scan)
    assert tuple(problem.clean.shape[-2:]) == (36, 28)  # 72×56 halved, not squeezed into 36×36
    record = attacked(experiment.to_dict())
    assert record["resized_to"] == [36, 28]
    assert record["geometry"]["working_spacing_mm"] == pytest.approx([1.6, 1.4])


def test_working_shape_and_geometry_words():
    assert working_shape((512, 512), None) == (512, 512) and working_shape((233, 197), 128) == (128, 108)
    record = geometry((512, 512), (0.4785, 0.4785), 128)
    assert record["resized"] and record["working_spacing_mm"] == pytest.approx([1.914, 1.914])
    assert geometry((512, 512), (), None)["working_spacing_mm"] is None


def test_a_non_square_ct_slice_is_padded_not_resized_and_the_adjoint_holds():
    op = build_operator({"kind": "ct", "angles": "sparse", "n_angles": 30, "max_angle_deg": 180.0}, (40, 26))
    x = torch.randn(2, 40, 26, dtype=torch.float64)
    y = op(x)
    other = torch.randn_like(y)
    assert float(real_inner(op(x), other)) == pytest.approx(float(real_inner(x, op.adjoint(other))), rel=1e-9)
    assert op.baseline(y).shape == (2, 40, 26) and op.image_shape == (40, 26)
    square = build_operator({"kind": "ct", "angles": "sparse", "n_angles": 30, "max_angle_deg": 180.0}, (40, 40))
    padded = torch.zeros(2, 40, 40, dtype=torch.float64)
    padded[:, :, 7:33] = x  # centred as fastMRI's center_crop crops
    torch.testing.assert_close(y, square(padded))


def test_regions_and_lesions_are_in_the_scans_own_pixels_even_at_a_working_size():
    scan = slice_scan()  # 72×56 at 0.8 × 0.7 mm
    region = {"kind": "rect", "xywh": [20, 30, 16, 12]}
    lesion = {"shape": "disc", "center_xy": [27.5, 35.5], "radius_px": 4.0}
    choices = Choices(source={"path": "/data/slice", "image_size": 36}, region=region,
                      objective={"kind": "insert", "lesion": lesion}, optimizer={"steps": 1}, device="cpu")
    experiment = experiment_for(ScanFacts.of(scan), choices)
    problem = build_problem(experiment, scan)
    expected = np.zeros((36, 28), bool)
    expected[15:21, 10:18] = True  # the same place on the half-size grid
    np.testing.assert_array_equal(problem.region.numpy(), expected)
    assert problem.config["region"] == region and problem.config["objective"]["lesion"] == lesion  # as drawn
    assert lesion_on_grid(lesion, (72, 56), (36, 28)) == {"shape": "disc", "center_xy": [13.5, 17.5],
                                                          "radius_px": 2.0}
    record = attacked(experiment.to_dict())["region"]
    assert record["area_px"] == 16 * 12 and record["area_mm2"] == pytest.approx(16 * 12 * 0.8 * 0.7)
    assert record["bounding_box_mm"] == pytest.approx([20 * 0.7, 30 * 0.8, 16 * 0.7, 12 * 0.8])


def test_sizes_in_words_are_width_by_height_like_the_scan_panel():
    from halluview.core.geometry import geometry_words

    words = geometry_words(geometry((96, 128), (2.0, 2.5), 64))
    assert words == "128×96 px at 2.5×2 mm, resized to 64×48 (5×4 mm) by choice"
