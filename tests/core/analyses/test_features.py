"""Small and false features: a feature the acquisition fully captures is recovered exactly by the zero-filled
reconstruction; a blur loses small features more than large ones; a reconstruction that ignores its input
recovers nothing; the masks have the areas geometry says; the 50 % threshold interpolates a recovery table;
bad settings are one-line errors; a false feature appears under a large budget and not under a tiny one.

Reference values come from geometry (π r², length × width), from scipy's Gaussian filter and from the linear
algebra of the zero-filled reconstruction, never from the code under test."""
import json
import math
from dataclasses import fields

import numpy as np
import pytest
import torch
from scipy.ndimage import gaussian_filter

from halluview.core import metrics
from halluview.core.analyses.common import AnalysisInput, analysis_input
from halluview.core.analyses.feature_shapes import feature_mask, neighbourhood_box, ring_mask
from halluview.core.analyses.features import Config, contrast_threshold, run
from halluview.core.analyses.registry import config_from, spec
from halluview.core.analyses.view import PANEL_KINDS
from halluview.core.errors import ExperimentError
from halluview.core.experiment import Experiment, OperatorConfig, ReconConfig, SourceConfig
from halluview.core.physics.mri import MRIOperator, ifft2c

N = 64
SIGMA_PX = 1.5


def phantom(n: int = N) -> torch.Tensor:
    """(1, n, n) ellipse of tissue 0.3 … 0.7 on a zero background (magnitude images are ≥ 0)."""
    rows, cols = np.mgrid[:n, :n]
    inside = ((cols - n / 2) / (0.42 * n)) ** 2 + ((rows - n / 2) / (0.46 * n)) ** 2 <= 1
    tissue = 0.5 + 0.2 * np.cos(cols / 5.0) * np.sin(rows / 7.0)
    return torch.tensor(np.where(inside, tissue, 0.0), dtype=torch.float32)[None]


class ZeroFilled(torch.nn.Module):
    def __init__(self, op):
        super().__init__()
        self.op = op

    def forward(self, y):
        return self.op.baseline(y)


class GaussianBlur(torch.nn.Module):
    """The fully sampled image, low-passed by a Gaussian of SIGMA_PX (its transfer function in k-space)."""

    def __init__(self, op):
        super().__init__()
        f = (torch.arange(N) - N // 2) / N
        self.transfer = torch.exp(-2 * math.pi ** 2 * SIGMA_PX ** 2 * (f[:, None] ** 2 + f[None, :] ** 2))

    def forward(self, y):
        return ifft2c(y[:, 0] * self.transfer).real


class Frozen(torch.nn.Module):
    """Returns the same image whatever it is given."""

    def __init__(self, op):
        super().__init__()
        self.image = op.baseline(op(phantom()))

    def forward(self, y):
        return self.image.expand(y.shape[0], -1, -1)


def make_inputs(recon_type, mask: np.ndarray | None = None) -> AnalysisInput:
    op = MRIOperator(np.ones(N, bool) if mask is None else mask)
    x = phantom()
    recon = recon_type(op)
    with torch.no_grad():
        y = op(x)
        clean = recon(y)
    return AnalysisInput(op=op, recon=recon, y=y, clean=clean, x_true=x, reference=x, data_range=None, region=None,
                         noise=None, seed=0, label=recon_type.__name__, config={}, experiment=Experiment(),
                         reconstruction=None)


def drain(generator):
    steps = []
    while True:
        try:
            steps.append(next(generator))
        except StopIteration as stop:
            return stop.value, steps


def recoveries(result, shape: str) -> np.ndarray:
    """The (sizes, contrasts) recovery table of one shape, read from the summary's cells."""
    config = result.config
    table = np.full((len(config.sizes_px), len(config.contrasts)), np.nan)
    for cell in result.summary()["cells"]:
        if cell["shape"] == shape:
            table[config.sizes_px.index(cell["size_px"]), config.contrasts.index(cell["contrast"])] = cell["recovery"]
    return table


def test_full_sampling_and_zero_filled_recover_every_feature_exactly():
    """The property: with every k-space column acquired, the zero-filled image of x + c·w is x + c·w, so every
    shape, size and contrast, at any angle and place, is recovered with recovery 1, and is as detectable as in the
    object itself."""
    config = Config(points=((32, 30), (25.5, 38)), angle_deg=37.0)
    result, steps = drain(run(make_inputs(ZeroFilled), config))
    for shape in config.shapes:
        np.testing.assert_allclose(recoveries(result, shape), 1.0, atol=1e-4)
    cells = result.summary()["cells"]
    assert len(cells) == 3 * 5 * 5 * 2
    for cell in cells:
        assert cell["cnr"] == pytest.approx(cell["cnr_object"], rel=1e-3)
        assert cell["ssim"] == pytest.approx(1, abs=1e-5) and cell["ssim_without"] == pytest.approx(1, abs=1e-5)
    assert all(v["note"] == "at or below the smallest contrast" for size in result.summary()["thresholds"].values()
               for v in size.values())
    assert steps and steps[-1].step == steps[-1].total


def test_dark_features_are_recovered_exactly_too():
    config = Config(shapes=("line",), contrasts=(0.05, 0.2), polarity="dark")
    result, _ = drain(run(make_inputs(ZeroFilled), config))
    np.testing.assert_allclose(recoveries(result, "line"), 1.0, atol=1e-4)


def test_the_demo_fully_sampled_is_recovered_at_the_region_centre():
    """Through the shared input: the 128² example, fully sampled, zero-filled, the feature at the region's centre."""
    experiment = Experiment(operator=OperatorConfig(acceleration=1, mask_type="full"), device="cpu",
                            recon=ReconConfig(name="zero-filled"), region={"kind": "rect", "xywh": [40, 50, 20, 16]})
    result, _ = drain(run(analysis_input(experiment), Config(shapes=("disc", "stroke"), sizes_px=(2, 4))))
    summary = result.summary()
    assert summary["points"][0]["x"] == pytest.approx(49.5) and summary["points"][0]["y"] == pytest.approx(57.5)
    assert all(abs(cell["recovery"] - 1) < 1e-4 for cell in summary["cells"])


def expected_blur_recovery(weights: np.ndarray, ring: np.ndarray) -> float:
    """The recovery of a Gaussian blur, by scipy: the blurred feature's weighted contrast over the feature's."""
    blurred = gaussian_filter(weights.astype(np.float64), SIGMA_PX, mode="wrap", truncate=8.0)
    inside = np.sum(blurred * weights) / np.sum(weights) - blurred[ring].mean()
    return inside / (np.sum(weights ** 2) / np.sum(weights))


def test_a_blur_recovers_small_features_less_than_large_ones():
    config = Config(shapes=("disc", "line"), contrasts=(0.05, 0.2))
    result, _ = drain(run(make_inputs(GaussianBlur), config))
    for shape in config.shapes:
        table = recoveries(result, shape)
        np.testing.assert_allclose(table[:, 0], table[:, 1], atol=1e-4)  # a linear blur: independent of contrast
        assert np.all(np.diff(table[:, 0]) > 0) and table[-1, 0] < 1
        for i, size in enumerate(config.sizes_px):
            weights = feature_mask(shape, size, (N, N), (32, 32), config.angle_deg)
            expected = expected_blur_recovery(weights, ring_mask(weights))
            assert table[i, 0] == pytest.approx(expected, abs=2e-3)


def test_a_reconstruction_that_ignores_its_input_recovers_nothing():
    result, _ = drain(run(make_inputs(Frozen), Config(shapes=("disc",))))
    assert np.all(recoveries(result, "disc") == 0)
    summary = result.summary()
    assert not any(cell["detected"] for cell in summary["cells"])
    assert all(v["contrast"] is None and v["note"] == "not reached" for v in summary["thresholds"]["disc"].values())
    assert "not reached" in result.headline()


@pytest.mark.parametrize("diameter", [1, 2, 3, 6, 11, 20])
def test_a_disc_has_the_area_of_a_disc(diameter):
    for centre in [(32, 32), (30.5, 33.25)]:
        weights = feature_mask("disc", diameter, (N, N), centre)
        assert weights.min() >= 0 and weights.max() <= 1
        assert weights.sum() == pytest.approx(math.pi * diameter ** 2 / 4, abs=0.02)


@pytest.mark.parametrize("angle", [0.0, 30.0, 45.0, 90.0, 135.0, -60.0])
def test_lines_and_strokes_have_length_times_width(angle):
    for size in (1, 3, 5):
        assert feature_mask("line", size, (N, N), (32, 31.6), angle).sum() == pytest.approx(4 * size, rel=1e-3)
        assert feature_mask("stroke", size, (N, N), (32, 32), angle).sum() == pytest.approx(3 * size ** 2, rel=1e-3)
    vertical = feature_mask("line", 3, (N, N), (32, 32), 90.0)
    assert np.count_nonzero(vertical.sum(axis=0)) == 1 and np.count_nonzero(vertical.sum(axis=1)) == 13


def test_the_ring_lies_between_one_and_three_pixels_outside_the_feature():
    weights = feature_mask("stroke", 3, (N, N), (32, 30), 20.0)
    ring = ring_mask(weights)
    support = np.argwhere(weights > 0)
    rows, cols = np.mgrid[:N, :N]
    distance = np.min(np.hypot(rows[..., None] - support[:, 0], cols[..., None] - support[:, 1]), axis=-1)
    np.testing.assert_array_equal(ring, (distance > 1) & (distance <= 3))


def test_the_threshold_interpolates_the_first_crossing():
    contrasts = (0.02, 0.05, 0.1, 0.2, 0.4)
    assert contrast_threshold(contrasts, (0.1, 0.3, 0.45, 0.7, 0.9)) == (pytest.approx(0.12), "interpolated")
    assert contrast_threshold(contrasts, (0.1, 0.6, 0.2, 0.7, 0.9)) == (pytest.approx(0.044), "interpolated")
    assert contrast_threshold(contrasts, (0.1, 0.2, 0.3, 0.4, 0.5)) == (pytest.approx(0.4), "interpolated")
    assert contrast_threshold(contrasts, (0.55,) * 5) == (0.02, "at or below the smallest contrast")
    assert contrast_threshold(contrasts, (0.1, 0.2, 0.3, 0.4, 0.49)) == (None, "not reached")


@pytest.mark.parametrize("values", [{"shapes": ("disc", "square")}, {"shapes": ()}, {"sizes_px": (0, 2)},
                                    {"sizes_px": (2, 2)}, {"contrasts": (0.0, 0.1)}, {"contrasts": (0.1, 1.5)},
                                    {"points": ((3,),)}, {"polarity": "grey"}, {"false_eps_percent": (0.0, 1.0)},
                                    {"false_size_px": 0}, {"false_contrast": 2.0}, {"false_steps": 0},
                                    {"cnr_threshold": -1.0}, {"angle_deg": 400.0}])
def test_bad_settings_are_one_line_errors(values):
    with pytest.raises(ExperimentError) as error:
        config_from("features", values)
    assert "\n" not in str(error.value)


def test_the_config_is_described_and_sorted():
    assert spec("features").title == "Small features"
    assert all(f.metadata.get("help") for f in fields(Config))
    config = config_from("features", {"sizes_px": [4, 1], "contrasts": [0.4, 0.1], "points": [[30, 31]]})
    assert config.sizes_px == (1, 4) and config.contrasts == (0.1, 0.4) and config.points == ((30.0, 31.0),)


def test_a_point_outside_the_image_is_an_error_and_the_background_is_said():
    with pytest.raises(ExperimentError):
        drain(run(make_inputs(ZeroFilled), Config(points=((70, 30),))))
    result, _ = drain(run(make_inputs(ZeroFilled), Config(shapes=("disc",), points=((5, 5), (32, 32)))))
    assert [p["in_background"] for p in result.summary()["points"]] == [True, False]
    assert any("background" in fact for fact in result.view().facts)


def test_the_result_is_reported_whole_and_repeats():
    inputs = make_inputs(GaussianBlur)
    config = Config(sizes_px=(1, 3), contrasts=(0.05, 0.2))
    result, _ = drain(run(inputs, config))
    again, _ = drain(run(inputs, config))
    summary, repeated = result.summary(), again.summary()
    assert summary.pop("seconds") >= 0 and repeated.pop("seconds") >= 0
    assert json.dumps(summary, allow_nan=False) == json.dumps(repeated, allow_nan=False)
    assert summary["analysis"] == "features" and summary["reconstruction"] == "GaussianBlur"
    assert summary["config"]["sizes_px"] == [1, 3] and summary["rules"]["detected"].startswith("CNR ≥ 3")
    rows = result.rows()
    assert rows and all(row["analysis"] == "features" for row in rows)
    assert all(isinstance(v, (str, int, float)) for row in rows for v in row.values())
    view = result.view()
    assert all(panel.kind in PANEL_KINDS for panel in view.panels)
    assert any(panel.kind == "map" for panel in view.panels) and view.curves and view.facts
    headline = result.headline()
    assert headline and "\n" not in headline


def test_ssim_and_psnr_are_the_whole_images_numbers_in_the_box():
    """The scores are taken on a crop for speed; the whole image's SSIM / PSNR over the box must agree."""
    inputs = make_inputs(GaussianBlur)
    result, _ = drain(run(inputs, Config(shapes=("stroke",), sizes_px=(2, 4), contrasts=(0.1, 0.3))))
    example = result.example
    cell = example["cell"]
    box = torch.from_numpy(neighbourhood_box(feature_mask("stroke", cell.size_px, (N, N), (32, 32), 90.0)))
    recon, truth = torch.from_numpy(example["recon"]), torch.from_numpy(example["object"])
    assert cell.ssim == pytest.approx(float(metrics.ssim(recon, truth, data_range=result.scale, mask=box)), abs=1e-6)
    assert cell.psnr == pytest.approx(float(metrics.psnr(recon, truth, data_range=result.scale, mask=box)), abs=1e-4)


def least_budget(inputs: AnalysisInput, weights: np.ndarray, contrast: float) -> float:
    """The least relative ε that can show half the target contrast through the fully sampled zero-filled
    reconstruction (to first order, the image change is Re F⁻¹ δ): the contrast measure is the linear functional
    <g, ·>, and the least ‖δ‖ with <g, F⁻¹ δ> ≥ t is t / ‖g‖ (orthonormal FFT)."""
    ring = ring_mask(weights)
    g = weights / weights.sum() - ring / ring.sum()
    target = 0.5 * contrast * float(inputs.x_true.max()) * np.sum(weights ** 2) / weights.sum()
    return target / np.linalg.norm(g) / float(torch.linalg.vector_norm(inputs.y))


def painted_budget(inputs: AnalysisInput, weights: np.ndarray, point, diameter: float, contrast: float) -> float:
    """The relative ε of δ = F(target − f(y)): the insert objective's target (f(y) with a soft disc of radius
    d / 2 painted in at the local mean plus the contrast) reached exactly, as full sampling allows."""
    clean = inputs.clean[0].numpy().astype(np.float64)
    rows, cols = np.mgrid[:clean.shape[0], :clean.shape[1]]
    disc = np.clip(diameter / 2 + 0.5 - np.hypot(cols - point[0], rows - point[1]), 0, 1)
    intensity = np.sum(clean * weights) / weights.sum() + contrast * float(inputs.x_true.max())
    return np.linalg.norm(disc * (intensity - clean)) / float(torch.linalg.vector_norm(inputs.y))


def test_a_false_feature_appears_when_the_budget_allows_it_and_not_before():
    """Fully sampled and zero-filled: below the least budget that can show half the contrast it cannot appear;
    with the budget that paints the target exactly, it does, and the search stops there."""
    experiment = Experiment(source=SourceConfig(demo="brain", image_size=48), recon=ReconConfig(name="zero-filled"),
                            operator=OperatorConfig(acceleration=1, mask_type="full"), device="cpu", noise_draws=1)
    inputs = analysis_input(experiment)
    point = (20.0, 26.0)
    weights = feature_mask("disc", 3, (48, 48), point)
    low, enough = 100 * least_budget(inputs, weights, 0.2), 100 * painted_budget(inputs, weights, point, 3, 0.2)
    assert low < enough / 2
    grid = (round(0.5 * low, 4), round(1.2 * enough, 4), round(5 * enough, 4))
    config = Config(shapes=("disc",), sizes_px=(3,), contrasts=(0.2,), points=(point,), false_feature=True,
                    false_eps_percent=grid, false_steps=12)
    result, steps = drain(run(inputs, config))
    record = result.summary()["false_features"][0]
    assert [trial["appeared"] for trial in record["trials"]] == [False, True]
    assert record["smallest_eps_percent"] == grid[1]
    assert all(trial["realised_eps_percent"] <= trial["eps_percent"] * (1 + 1e-4) for trial in record["trials"])
    assert any("false feature" in step.message for step in steps)
    assert f"ε {grid[1]:g} %" in result.headline()
