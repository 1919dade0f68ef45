"""The null-space map: an error split into what the measurement sees and what it cannot (Bhadra et al. 2021).

Reference values come from numpy's FFT and scipy, never from the analysis itself."""
from __future__ import annotations

import json
from dataclasses import asdict, fields, replace
from functools import lru_cache

import numpy as np
import pytest
import torch
from scipy.ndimage import gaussian_filter

from halluview.core.analyses.common import analysis_input
from halluview.core.analyses.nullspace import (
    TITLE,
    Config,
    _cropped,
    _on_operator_grid,
    decompose,
    hallucination_map,
    run,
)
from halluview.core.analyses.registry import config_from, spec
from halluview.core.analyses.view import AnalysisStep
from halluview.core.attacks.optimizers import OptimizerConfig
from halluview.core.errors import ExperimentError
from halluview.core.experiment import Experiment, OperatorConfig, ReconConfig
from halluview.core.phantoms import brain_phantom
from halluview.core.physics.mri import build_mri_operator
from halluview.core.settings import SourceConfig


def centred_fft(image: np.ndarray) -> np.ndarray:
    """fastMRI's centred orthonormal 2-D FFT in numpy (independent of the torch code under test)."""
    return np.fft.fftshift(np.fft.fft2(np.fft.ifftshift(image, axes=(-2, -1)), norm="ortho"), axes=(-2, -1))


def centred_ifft(kspace: np.ndarray) -> np.ndarray:
    return np.fft.fftshift(np.fft.ifft2(np.fft.ifftshift(kspace, axes=(-2, -1)), norm="ortho"), axes=(-2, -1))


def unmeasured_part(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(I − P) image for single-coil Cartesian MRI: the k-space columns the mask leaves out, back in the image."""
    return centred_ifft(centred_fft(image) * ~mask)


def relative(actual: np.ndarray, expected: np.ndarray) -> float:
    return float(np.linalg.norm(actual - expected) / np.linalg.norm(expected))


def drain(generator):
    """Run an analysis to its end: (the steps it yielded, its result)."""
    steps = []
    while True:
        try:
            steps.append(next(generator))
        except StopIteration as stop:
            return steps, stop.value


def small_experiment(recon: str = "zero-filled", **changes) -> Experiment:
    return Experiment(source=SourceConfig(demo="brain", image_size=64), recon=ReconConfig(name=recon),
                      device="cpu", **changes)


@lru_cache(maxsize=None)
def small_inputs(recon: str = "zero-filled"):
    return analysis_input(small_experiment(recon, optimizer=OptimizerConfig(steps=2), noise_draws=1))


# -- the property ---------------------------------------------------------------------------------------------------

def test_property_the_adjoint_reconstructions_error_lies_wholly_in_the_null_space():
    """f = A* (zero filling, complex): A*A x − x = −(I − P) x, so P e = 0 and (I − P) e is the unmeasured part."""
    op = build_mri_operator((64, 64), acceleration=4.0, mask_type="random", seed=0)
    x = brain_phantom(64, seed=1).astype(np.float64)
    y = op(torch.from_numpy(x)[None])
    error = op.adjoint(y)[0].numpy() - x
    split = decompose(op, torch.from_numpy(error)[None])
    mask = op.mask.reshape(-1).numpy()
    assert np.linalg.norm(split.measured) <= 1e-6 * np.linalg.norm(error)
    assert relative(split.null, -unmeasured_part(x, mask)) < 1e-6
    assert split.measured_share < 1e-12 and split.null_space_share == pytest.approx(1.0, abs=1e-12)


def test_property_the_built_in_zero_filled_error_splits_into_its_unmeasured_part():
    """The app's zero-filled reconstruction is the magnitude |A* y|: its error has a measured part, and the
    null-space part is still exactly the unmeasured part of the error (numpy), the two summing to the error."""
    inputs = small_inputs()
    _, result = drain(run(inputs, Config()))
    x = inputs.x_true[0].double().numpy()
    mask = inputs.op.mask.reshape(-1).numpy()
    error = np.abs(centred_ifft(centred_fft(x) * mask)) - x
    split = result.decomposition
    assert np.abs(result.target - error).max() < 1e-5  # float32 reconstruction against numpy in float64
    assert np.abs(split.measured + split.null - result.target).max() < 1e-12
    assert relative(split.null, unmeasured_part(result.target, mask)) < 1e-9
    assert split.measured_share + split.null_space_share == pytest.approx(1.0, abs=1e-9)
    assert 0.5 < split.null_space_share < 1.0


def test_a_fully_sampled_acquisition_has_no_null_space():
    op = build_mri_operator((32, 32), acceleration=1.0, mask_type="full")
    error = torch.from_numpy(np.random.default_rng(0).standard_normal((1, 32, 32)))
    split = decompose(op, error)
    assert np.abs(split.null).max() < 1e-12 and split.null_space_share < 1e-20


# -- the hallucination map ------------------------------------------------------------------------------------------

def blob(shape: tuple[int, int], centre: tuple[int, int], radius: float) -> np.ndarray:
    rows, cols = np.indices(shape)
    return ((rows - centre[0]) ** 2 + (cols - centre[1]) ** 2 <= radius ** 2).astype(np.float64)


def test_a_blob_put_in_the_null_space_is_found():
    op = build_mri_operator((64, 64), acceleration=4.0, seed=2)
    mask = op.mask.reshape(-1).numpy()
    rng = np.random.default_rng(3)
    seen = centred_ifft(centred_fft(gaussian_filter(rng.standard_normal((64, 64)), 2.0)) * mask)
    invented = unmeasured_part(blob((64, 64), (20, 40), 3.0), mask)
    split = decompose(op, torch.from_numpy(seen + invented)[None])
    found = hallucination_map(np.abs(split.null), sigma_px=1.0, percentile=99.0, min_region_px=8)
    assert found.regions >= 1 and found.mask[20, 40]
    rows, cols = np.nonzero(found.mask)
    assert np.all(np.hypot(rows - 20, cols - 40) < 8)  # nothing flagged away from the invented blob
    assert found.area_px == int(found.mask.sum()) and found.pool_px == 64 * 64


def test_a_region_smaller_than_the_minimum_is_removed():
    image = 5.0 * blob((48, 48), (12, 12), 4.0) + 5.0 * blob((48, 48), (36, 36), 0.5)  # 49 px and 1 px
    kept_all = hallucination_map(image, sigma_px=0.0, percentile=95.0, min_region_px=1)
    assert kept_all.regions == 2 and kept_all.mask[36, 36] and kept_all.area_px == 50
    found = hallucination_map(image, sigma_px=0.0, percentile=95.0, min_region_px=8)
    assert found.regions == 1 and found.removed_regions == 1
    assert found.mask[12, 12] and not found.mask[36, 36] and found.area_px == 49


def test_the_map_is_smoothed_and_thresholded_within_the_pool_at_its_percentile():
    image = np.random.default_rng(4).random((32, 32))
    pool = np.zeros((32, 32), bool)
    pool[8:24, 8:24] = True
    found = hallucination_map(image, sigma_px=1.5, percentile=90.0, min_region_px=1, pool=pool)
    smoothed = gaussian_filter(image, 1.5)
    assert found.threshold == pytest.approx(np.percentile(smoothed[pool], 90.0), rel=1e-12)
    assert not found.mask[~pool].any() and found.pool_px == 256
    assert found.area_px == int(np.sum(smoothed[pool] > found.threshold))


# -- the analysis ---------------------------------------------------------------------------------------------------

def test_the_analysis_reports_its_split_in_view_summary_and_rows():
    inputs = small_inputs()
    steps, result = drain(run(inputs, Config()))
    assert all(isinstance(step, AnalysisStep) for step in steps) and steps[-1].step == steps[-1].total
    summary = result.summary()
    assert summary["analysis"] == "nullspace" and summary["config"] == asdict(Config())
    assert summary["label"] == "zero-filled" and summary["mode"] == "error" and summary["method"] == "exact"
    assert summary["null_space_share"] + summary["measured_share"] == pytest.approx(1.0, abs=1e-9)
    error_rms = float(np.sqrt(np.mean((inputs.clean - inputs.x_true).double().numpy() ** 2)))
    assert summary["error_rms"] == pytest.approx(error_rms, rel=1e-6)
    json.dumps(summary, allow_nan=False)
    row, = result.rows()
    assert row["analysis"] == "nullspace" and all(isinstance(v, (str, int, float)) for v in row.values())
    view = result.view()
    assert [panel.kind for panel in view.panels] == ["grey", "signed", "map", "map", "map"]
    assert any("lies in the null space" in fact for fact in view.facts)
    assert "null space" in result.headline()


def test_ct_runs_conjugate_gradients_and_reports_the_residual():
    """Sparse-view CT has near-null directions, so CG stops on its budget: what it reports must be true of P e."""
    experiment = Experiment(source=SourceConfig(demo="shepp-logan", image_size=32), recon=ReconConfig(name="fbp"),
                            operator=OperatorConfig(kind="ct", angles="sparse", n_angles=12), device="cpu")
    inputs = analysis_input(experiment)
    _, result = drain(run(inputs, Config(cg_iterations=60, cg_tolerance=1e-8)))
    summary, split = result.summary(), result.decomposition
    assert summary["method"] == "cg" and summary["cg_iterations"] == 60 and not summary["cg_converged"]
    with torch.no_grad():  # the normal-equation residual, recomputed from the parts with the operator
        normal = inputs.op.adjoint(inputs.op(torch.from_numpy(np.stack([split.null, result.target]))))
    assert float(np.linalg.norm(normal[0]) / np.linalg.norm(normal[1])) == pytest.approx(summary["cg_residual"],
                                                                                          rel=1e-6)
    shares = [np.sum(np.abs(part) ** 2) / np.sum(result.target ** 2) for part in (split.measured, split.null)]
    assert summary["share_sum_error"] == pytest.approx(sum(shares) - 1.0, abs=1e-12)
    curve, = result.view().curves
    assert len(curve.x) == 61 and curve.series["residual"][-1] == summary["cg_residual"]
    assert any("NOT converged" in fact for fact in result.view().facts)


@pytest.mark.parametrize("case", ["no ground truth", "forced"])
def test_without_ground_truth_the_map_shows_what_an_attack_changed(case):
    inputs = small_inputs()
    if case == "no ground truth":
        inputs = replace(inputs, x_true=None, reference=None, noise=None)
    config = Config(of="attack_change" if case == "forced" else "error")
    steps, result = drain(run(inputs, config))
    assert len(steps) >= 3  # the attack's steps, then the split
    summary = result.summary()
    assert summary["mode"] == "attack_change"
    assert any("this shows what an attack changed" in fact for fact in result.view().facts)
    split = result.decomposition
    assert np.abs(split.measured + split.null - result.target).max() < 1e-12
    assert float(np.abs(result.target).max()) > 0


def test_a_cropped_reconstruction_is_split_on_the_acquisitions_grid():
    """A file's reconstruction (fastMRI: 320² of a 640 × 368 encoding) is zero-padded, centred as the crop was."""
    op = build_mri_operator((12, 10), acceleration=2.0, seed=0)
    op.image_shape = (12, 10)
    change = torch.arange(1.0, 49.0, dtype=torch.float64).reshape(1, 8, 6)
    padded, padded_from = _on_operator_grid(change, op)
    assert padded_from == (8, 6) and padded.shape == (1, 12, 10) and float(padded.sum()) == float(change.sum())
    assert torch.equal(padded[0, 2:10, 2:8], change[0])
    split = _cropped(decompose(op, padded), padded_from)
    assert split.null.shape == (8, 6)
    assert np.abs(split.measured + split.null - change[0].numpy()).max() < 1e-12


def test_the_same_seed_gives_the_same_numbers():
    first = drain(run(small_inputs(), Config(percentile=97.0)))[1].summary()
    second = drain(run(small_inputs(), Config(percentile=97.0)))[1].summary()
    assert first == second


# -- settings -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("values", [{"smoothing_sigma_px": -1.0}, {"percentile": 0.0}, {"percentile": 100.0},
                                    {"min_region_px": 0}, {"cg_iterations": 0}, {"cg_tolerance": 0.0},
                                    {"of": "difference"}, {"object_level": 1.0}, {"attack_steps": -1},
                                    {"min_region_px": 8.5}])
def test_bad_settings_are_one_line_errors(values):
    with pytest.raises(ExperimentError):
        config_from("nullspace", values)


def test_the_registry_names_it_and_every_setting_is_documented():
    assert spec("nullspace").title == TITLE == "Null-space map"
    assert all(field.metadata.get("help") for field in fields(Config))
    with pytest.raises(ExperimentError, match="unknown nullspace settings"):
        config_from("nullspace", {"sigma": 1.0})
