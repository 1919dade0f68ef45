"""The invariance search (Eulig et al.): a far-away input whose reconstruction barely changes.

The property: for MRI with an undersampling mask and the zero-filled reconstruction, what the search finds lies in
the null space of the acquisition (unsampled k-space columns, checked with numpy's FFT, not the code's), and the
input change grows while the output change stays small; with every column sampled there is nothing to find.
"""
import json
import math

import numpy as np
import pytest
import torch

from halluview.core.analyses import invariance
from halluview.core.analyses.common import AnalysisInput, analysis_input
from halluview.core.analyses.registry import config_from, spec
from halluview.core.analyses.view import AnalysisStep, AnalysisView
from halluview.core.errors import ExperimentError
from halluview.core.experiment import Experiment, ReconConfig
from halluview.core.physics.mri import MRIOperator

SIZE = 64


@pytest.fixture(autouse=True)
def _one_thread():
    """64² FFTs are too small to share between threads: a second thread only waits (10× slower on a busy CPU)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


class ZeroFilled(torch.nn.Module):
    """|F⁻¹ M F x|: the zero-filled reconstruction of a single-coil acquisition."""

    def __init__(self, op: MRIOperator):
        super().__init__()
        self.op = op

    def forward(self, y):
        return self.op.baseline(y)


def phantom(n: int = SIZE) -> np.ndarray:
    """Three ellipses on a zero background, values in [0, 0.9]."""
    yy, xx = np.mgrid[-1:1:n * 1j, -1:1:n * 1j]
    image = np.zeros((n, n))
    image[(xx / 0.8) ** 2 + (yy / 0.9) ** 2 < 1] = 0.6
    image[((xx - 0.2) / 0.25) ** 2 + ((yy + 0.1) / 0.35) ** 2 < 1] = 0.9
    image[((xx + 0.3) / 0.2) ** 2 + ((yy - 0.3) / 0.15) ** 2 < 1] = 0.3
    return image


def column_mask(n: int = SIZE, full: bool = False) -> np.ndarray:
    """4× undersampling: the 8 centre columns and 8 random others (bool (n,)); every column when ``full``."""
    if full:
        return np.ones(n, bool)
    mask = np.zeros(n, bool)
    mask[n // 2 - 4:n // 2 + 4] = True
    rng = np.random.default_rng(0)
    mask[rng.choice(np.flatnonzero(~mask), n // 4 - 8, replace=False)] = True
    return mask


def small_input(full: bool = False, seed: int = 0, region: np.ndarray | None = None) -> AnalysisInput:
    op = MRIOperator(column_mask(full=full))
    x = torch.from_numpy(phantom()).float()[None]
    recon = ZeroFilled(op)
    with torch.no_grad():
        y = op(x)
        clean = recon(y)
    return AnalysisInput(op=op, recon=recon, y=y, clean=clean, x_true=x, reference=x, data_range=None,
                         region=None if region is None else torch.from_numpy(region), noise=None, seed=seed,
                         label="zero-filled", config={}, experiment=None, reconstruction=None)


def finish(generator):
    """Every step a run yields, and the result it returns."""
    steps = []
    while True:
        try:
            steps.append(next(generator))
        except StopIteration as stop:
            return stop.value, steps


def numpy_null_space_share(delta: np.ndarray, mask: np.ndarray) -> float:
    """‖unsampled part of F Δ‖² / ‖F Δ‖² with fastMRI's centred orthonormal FFT, in numpy."""
    kspace = np.fft.fftshift(np.fft.fft2(np.fft.ifftshift(delta, axes=(-2, -1)), norm="ortho"), axes=(-2, -1))
    energy = np.abs(kspace) ** 2
    return float(energy[..., ~mask].sum() / energy.sum())


def test_the_invariance_of_an_undersampled_zero_filled_reconstruction_lies_in_the_null_space():
    result, _ = finish(invariance.run(small_input(), invariance.Config(steps=100)))
    delta = result.x_inv - result.x
    share = numpy_null_space_share(delta[0], column_mask())
    assert share > 0.99
    assert result.null_space_share == pytest.approx(share, abs=1e-4)
    assert result.input_rms[-1] > 10 * result.input_rms[0]
    assert result.output_rms[-1] < 0.1 * result.input_rms[-1]
    # the curves measure what the images show (RMS of the differences, independently in numpy)
    assert result.input_rms[-1] == pytest.approx(float(np.sqrt(np.mean(delta ** 2))), rel=1e-4)
    change = result.recon_inv - result.recon_x
    assert result.output_rms[-1] == pytest.approx(float(np.sqrt(np.mean(change ** 2))), rel=1e-3, abs=1e-7)


def test_with_every_column_sampled_the_input_change_stays_at_the_analytic_optimum():
    # f(x) = x for a non-negative real image when nothing is missing, so the objective is r² − α r in the input's
    # RMS change r, smallest at r = α / 2: the search may not wander off.
    alpha = 0.02
    result, _ = finish(invariance.run(small_input(full=True), invariance.Config(alpha=alpha, steps=60)))
    assert max(result.input_rms) < 2 * alpha
    assert result.input_rms[-1] == pytest.approx(alpha / 2, rel=0.3)
    assert result.output_rms[-1] == pytest.approx(result.input_rms[-1], rel=1e-3)
    assert result.null_space_share < 1e-6


def test_the_ssim_distance_also_finds_an_invariance():
    config = invariance.Config(distance="ssim", alpha=0.1, steps=100)
    result, _ = finish(invariance.run(small_input(), config))
    assert result.input_rms[-1] > 10 * result.input_rms[0]
    assert result.output_ssim[-1] > 0.95
    assert numpy_null_space_share((result.x_inv - result.x)[0], column_mask()) > 0.95
    assert all(math.isfinite(v) for v in result.input_rms + result.output_rms + result.output_ssim)


def test_the_search_stays_in_the_object_range_and_inside_its_region():
    region = np.zeros((SIZE, SIZE), bool)
    region[20:40, 10:30] = True
    result, _ = finish(invariance.run(small_input(region=region), invariance.Config(steps=60)))
    delta = result.x_inv - result.x
    assert np.array_equal(delta[:, ~region], np.zeros_like(delta[:, ~region]))
    assert np.sqrt(np.mean(delta[:, region] ** 2)) > 0.05
    assert result.x_inv.min() >= 0.0 and result.x_inv.max() <= phantom().max() + 1e-6
    unconfined, _ = finish(invariance.run(small_input(region=region), invariance.Config(steps=5, in_region=False)))
    assert np.any((unconfined.x_inv - unconfined.x)[:, ~region] != 0)


def test_the_same_seed_gives_the_same_numbers_and_another_seed_others():
    config = invariance.Config(steps=15)
    first, _ = finish(invariance.run(small_input(seed=3), config))
    again, _ = finish(invariance.run(small_input(seed=3), config))
    other, _ = finish(invariance.run(small_input(seed=4), config))
    assert first.summary() == again.summary()
    assert np.array_equal(first.x_inv, again.x_inv)
    assert not np.array_equal(first.x_inv, other.x_inv)


@pytest.mark.parametrize("values", [{"steps": 0}, {"learning_rate": 0.0}, {"alpha": -1.0}, {"start_sigma": -0.1},
                                    {"start_sigma": 0.0}, {"distance": "l1"}, {"steps": 2.5}, {"alpha": math.nan}])
def test_settings_out_of_range_are_one_line_errors(values):
    with pytest.raises(ExperimentError) as error:
        config_from("invariance", values)
    assert "\n" not in str(error.value)


def test_every_setting_documents_itself_and_the_registry_finds_the_module():
    import dataclasses

    assert spec("invariance").title == "Invariance" == invariance.TITLE
    for item in dataclasses.fields(invariance.Config):
        assert item.metadata.get("help"), item.name
    distance = {item.name: item for item in dataclasses.fields(invariance.Config)}["distance"]
    assert tuple(distance.metadata["choices"]) == ("mse", "ssim")


def test_steps_views_summary_rows_and_headline():
    config = invariance.Config(steps=25)
    result, steps = finish(invariance.run(small_input(), config))
    assert [s.step for s in steps] == list(range(1, 26)) and all(isinstance(s, AnalysisStep) for s in steps)
    assert [s.step for s in steps if s.view is not None] == [10, 20, 25]
    assert len(result.iterations) == len(result.input_rms) == len(result.output_ssim) == 26
    view = result.view()
    assert isinstance(view, AnalysisView)
    assert [p.kind for p in view.panels] == ["grey", "signed", "signed", "grey"]
    assert view.panels[1].image.shape == (SIZE, SIZE) and view.facts
    summary = json.loads(json.dumps(result.summary(), allow_nan=False))
    assert summary["analysis"] == "invariance" and summary["label"] == "zero-filled"
    assert summary["config"]["steps"] == 25 and summary["config"]["distance"] == "mse"
    for key in ("input_rms_change", "output_rms_change", "ratio", "output_ssim", "null_space_share"):
        assert isinstance(summary[key], float), key
    assert summary["ratio"] == pytest.approx(summary["input_rms_change"] / summary["output_rms_change"])
    assert len(summary["curves"]["input_rms"]) == 26
    rows = result.rows()
    assert rows and all(row["analysis"] == "invariance" for row in rows)
    assert all(isinstance(v, (str, int, float)) for row in rows for v in row.values())
    assert "\n" not in result.headline() and "RMS" in result.headline()


def test_the_built_in_example_runs_through_the_shared_input():
    experiment = Experiment(recon=ReconConfig(name="zero-filled"),
                            region={"kind": "rect", "xywh": [40, 50, 20, 16]})
    inputs = analysis_input(experiment)
    result, _ = finish(invariance.run(inputs, invariance.Config(steps=20)))
    region = inputs.region_numpy()
    assert np.all((result.x_inv - result.x)[:, ~region] == 0)
    assert result.input_rms[-1] > result.input_rms[0]
    assert 0.0 <= result.null_space_share <= 1.0
