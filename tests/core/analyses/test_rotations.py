"""Adversarial rotations (Morshuis et al. 2022): the rotation itself, its angle gradient, the search and the
property that a rotation-equivariant reconstruction shows no damage against the rotated ground truth.

Reference values come from elsewhere: scipy.ndimage.rotate and np.rot90 for the rotation, a central finite
difference for its angle gradient, an orientation measured from second moments for the constructed worst angle.
"""
import json
from dataclasses import replace

import numpy as np
import pytest
import scipy.ndimage as ndimage
import torch

from halluview.core.analyses import registry
from halluview.core.analyses.common import AnalysisInput, analysis_input
from halluview.core.analyses.rotation_grid import angle_grid
from halluview.core.analyses.rotations import TITLE, Config, angle_records, rotate, rotated_region, run
from halluview.core.analyses.view import AnalysisStep, AnalysisView
from halluview.core.errors import ExperimentError
from halluview.core.experiment import Experiment, ReconConfig
from halluview.core.physics.mri import MRIOperator
from halluview.core.settings import SourceConfig


def finish(generator):
    """Run an analysis generator to its end: (the steps it yielded, the result it returned)."""
    steps = []
    while True:
        try:
            steps.append(next(generator))
        except StopIteration as stop:
            return steps, stop.value


def smooth_image(shape, seed=0) -> np.ndarray:
    """A smooth random image (bilinear interpolation is then close to the function it samples)."""
    rng = np.random.default_rng(seed)
    return ndimage.gaussian_filter(rng.random(shape), 2.0)


def full_mask_experiment(n_coils: int = 1, region: dict | None = None) -> Experiment:
    """The built-in brain at 64² (fast), fully sampled, zero-filled."""
    experiment = Experiment(source=SourceConfig(image_size=64), recon=ReconConfig(name="zero-filled"), region=region)
    return replace(experiment, operator=replace(experiment.operator, acceleration=1, mask_type="full",
                                                n_coils=n_coils))


# --- the property the issue asks for ---------------------------------------------------------------------------

RECT = {"kind": "rect", "xywh": [40, 50, 20, 16]}


@pytest.mark.parametrize("n_coils, region, step", [(1, None, 0.1), (4, RECT, 0.5)])
def test_an_equivariant_reconstruction_is_not_damaged_at_any_angle(n_coils, region, step):
    """Zero-filled with a full mask is |x| (Σ|S|² = 1 for coils), so f(A R x) = R x at every angle: the damage
    against the rotated ground truth is ~0 although the image moved (the error against f(y) is not 0)."""
    inputs = analysis_input(full_mask_experiment(n_coils, region))
    _, result = finish(run(inputs, Config(max_angle_deg=5.0, grid_step_deg=step, refine_steps=3)))
    summary = result.summary()
    curve = summary["curve"]
    assert len(curve["angle_deg"]) == round(10 / step) + 1
    assert curve["angle_deg"][0] == -5.0 and curve["angle_deg"][-1] == 5.0
    assert max(curve["mse"]) < 1e-10
    assert min(curve["psnr_db"]) > 60.0
    assert min(curve["ssim"]) > 0.9999
    worst = summary["at_worst"]
    assert worst["mse_vs_truth"] < 1e-10 and worst["mse_vs_moved_clean"] < 1e-10
    # the motion itself is large when the reconstruction is compared with the unrotated clean one
    for record in angle_records(inputs, [-5.0, 5.0]):
        assert record["mse_vs_clean"] > 1e-4 > 1e-10 > record["mse_vs_truth"]


# --- the rotation ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("angle", [7.3, -12.0, 25.0])
def test_bilinear_rotate_matches_scipy_away_from_the_border(angle):
    """Non-square, so the pixel aspect of the normalised grid matters; scipy's +angle turns counter-clockwise as
    displayed (row 0 at the top), as ours does."""
    image = smooth_image((48, 40))
    ours = rotate(torch.from_numpy(image)[None], angle, "bilinear")[0].numpy()
    reference = ndimage.rotate(image, angle, order=1, reshape=False, mode="constant", cval=0.0)
    inside = ndimage.binary_erosion(np.ones_like(image, bool), iterations=12)
    np.testing.assert_allclose(ours[inside], reference[inside], atol=1e-6)


BLOBS = [(5.0, -3.0, 3.0, 1.0), (-6.0, 5.0, 2.5, 0.7), (0.0, 8.0, 2.0, 0.5)]
"""Gaussian blobs (column offset, row offset from the centre, σ in pixels, height): band-limited to float precision."""


def blobs(shape, angle_deg: float = 0.0, spots=BLOBS) -> np.ndarray:
    """The blobs turned counter-clockwise (as displayed) by ``angle_deg``, evaluated analytically."""
    rows, cols = np.mgrid[:shape[0], :shape[1]]
    u, w = cols - (shape[1] - 1) / 2, rows - (shape[0] - 1) / 2  # w points down
    theta = np.deg2rad(angle_deg)
    u_in, w_in = np.cos(theta) * u - np.sin(theta) * w, np.sin(theta) * u + np.cos(theta) * w  # where it came from
    return sum(a * np.exp(-((u_in - cu) ** 2 + (w_in - cw) ** 2) / (2 * s ** 2)) for cu, cw, s, a in spots)


@pytest.mark.parametrize("angle", [7.3, -23.0, 44.0])
def test_fourier_rotate_matches_the_analytic_rotation_of_a_band_limited_image(angle):
    image = torch.from_numpy(blobs((48, 40)))[None]
    reference = blobs((48, 40), angle)
    np.testing.assert_allclose(rotate(image, angle)[0].numpy(), reference, atol=1e-5)
    assert np.abs(rotate(image, angle, "bilinear")[0].numpy() - reference).max() > 1e-2  # bilinear blurs


def test_fourier_rotate_lets_what_leaves_the_frame_go():
    """A blob near the corner turns partly out of the frame: it must not come back in on the far side (the
    shears are periodic)."""
    corner = [(35.5, -35.5, 2.0, 1.0)]
    image = torch.from_numpy(blobs((96, 96), spots=corner))[None]
    reference = blobs((96, 96), 44.0, corner)
    assert 0.05 < reference.max() < 0.9  # partly out
    np.testing.assert_allclose(rotate(image, 44.0)[0].numpy(), reference, atol=1e-5)


def test_fourier_rotate_keeps_fine_detail_and_bilinear_loses_it():
    """The share of energy in the outer half of k-space (numpy's FFT) after a 3° turn of a detailed object."""
    rows, cols = np.mgrid[:64, :64] - 31.5
    detail = np.random.default_rng(5).random((64, 64)) * (np.hypot(rows, cols) < 20)

    def outer_energy(image):
        spectrum = np.abs(np.fft.fftshift(np.fft.fft2(image))) ** 2
        return spectrum[:, np.r_[0:16, 48:64]].sum() / spectrum.sum()

    before = outer_energy(detail)
    fourier, bilinear = (outer_energy(rotate(torch.from_numpy(detail)[None], 3.0, how)[0].numpy())
                         for how in ("fourier", "bilinear"))
    assert fourier == pytest.approx(before, rel=0.02)
    assert bilinear < 0.8 * before


def test_rotate_turns_counter_clockwise_as_displayed():
    image = torch.from_numpy(smooth_image((32, 32)))
    turned = rotate(image[None], torch.tensor([90.0], dtype=torch.float64), "bilinear")[0].numpy()
    np.testing.assert_allclose(turned, np.rot90(image.numpy()), atol=1e-9)
    point = torch.zeros(1, 9, 9)
    point[0, 4, 7] = 1.0  # right of the centre → above it after a counter-clockwise quarter turn
    assert torch.argmax(rotate(point, 90.0, "bilinear")).item() == 1 * 9 + 4
    compact = torch.from_numpy(blobs((40, 40)))[None]  # two Fourier eighth turns make a quarter turn
    np.testing.assert_allclose(rotate(rotate(compact, 45.0), 45.0)[0].numpy(), np.rot90(compact[0].numpy()),
                               atol=1e-5)
    with pytest.raises(ValueError):
        rotate(compact, 46.0)


@pytest.mark.parametrize("interpolation", ["fourier", "bilinear"])
def test_rotate_is_differentiable_in_the_angle_and_the_image(interpolation):
    image = torch.from_numpy(smooth_image((24, 20), seed=1))[None]
    weights = torch.from_numpy(smooth_image((24, 20), seed=2))[None]
    angle = torch.tensor([3.3], dtype=torch.float64, requires_grad=True)
    torch.sum(weights * rotate(image, angle, interpolation)).backward()
    step = 1e-5

    def value(degrees):
        return torch.sum(weights * rotate(image, torch.tensor([degrees], dtype=torch.float64), interpolation)).item()

    finite_difference = (value(3.3 + step) - value(3.3 - step)) / (2 * step)
    assert abs(finite_difference) > 1e-3
    assert angle.grad.item() == pytest.approx(finite_difference, rel=1e-4)
    # linear in the image: the gradient's inner product with any direction v is sum(weights · R v), exactly
    image.requires_grad_(True)
    torch.sum(weights * rotate(image, 4.0, interpolation)).backward()
    direction = torch.from_numpy(smooth_image((24, 20), seed=3))[None]
    assert torch.sum(image.grad * direction).item() == pytest.approx(
        torch.sum(weights * rotate(direction, 4.0, interpolation)).item(), rel=1e-9)


def test_rotate_keeps_complex_images_and_batches_of_angles():
    real, imag = (torch.from_numpy(smooth_image((16, 16), seed=s)).float() for s in (3, 4))
    both = rotate(torch.complex(real, imag)[None].expand(2, -1, -1), torch.tensor([2.0, -6.0]))
    assert both.is_complex() and both.shape == (2, 16, 16)
    torch.testing.assert_close(both[1].imag, rotate(imag[None], -6.0)[0])
    torch.testing.assert_close(both[0].real, rotate(real[None], 2.0)[0])


def test_the_angle_grid_is_symmetric_and_reaches_the_ends():
    np.testing.assert_allclose(angle_grid(1.0, 0.3), [-1.0, -0.9, -0.6, -0.3, 0.0, 0.3, 0.6, 0.9, 1.0])
    np.testing.assert_allclose(angle_grid(0.5, 0.25), [-0.5, -0.25, 0.0, 0.25, 0.5])
    np.testing.assert_allclose(angle_grid(0.2, 5.0), [-0.2, 0.0, 0.2])


def test_the_region_turns_with_the_object():
    region = torch.zeros(32, 32, dtype=torch.bool)
    region[3:9, 20:30] = True
    turned = rotated_region(region, torch.tensor([0.0, 90.0]))
    assert turned.dtype == torch.bool and turned.shape == (2, 32, 32)
    assert torch.equal(turned[0], region)
    np.testing.assert_array_equal(turned[1].numpy(), np.rot90(region.numpy()))
    assert rotated_region(None, torch.tensor([1.0])) is None


# --- the search on a case whose answer is known -----------------------------------------------------------------

def orientation_deg(images: torch.Tensor) -> torch.Tensor:
    """Orientation of each image's mass, counter-clockwise as displayed, from its second moments (B,) in degrees."""
    h, w = images.shape[-2:]
    rows, cols = torch.meshgrid(torch.arange(h, dtype=images.dtype), torch.arange(w, dtype=images.dtype),
                                indexing="ij")
    u, v = cols - (w - 1) / 2, (h - 1) / 2 - rows  # v points up
    mass = images.sum(dim=(-2, -1))
    mu_uu, mu_vv, mu_uv = ((images * m).sum(dim=(-2, -1)) / mass for m in (u * u, v * v, u * v))
    return torch.rad2deg(0.5 * torch.atan2(2 * mu_uv, mu_uu - mu_vv))


class OrientationDamage(torch.nn.Module):
    """Zero-filled, then a gain that peaks when the object points at ``target_deg``: the known worst angle."""

    def __init__(self, op, target_deg: float, width_deg: float = 1.0, amount: float = 0.5):
        super().__init__()
        self.op, self.target_deg, self.width_deg, self.amount = op, target_deg, width_deg, amount

    def forward(self, y):
        image = self.op.baseline(y)
        bump = torch.exp(-0.5 * ((orientation_deg(image) - self.target_deg) / self.width_deg) ** 2)
        return image * (1 + self.amount * bump[:, None, None])


def constructed_inputs(target_deg: float, region: torch.Tensor | None = None) -> AnalysisInput:
    """A 64² elongated blob along the columns (orientation 0°), fully sampled single-coil MRI."""
    rows, cols = np.mgrid[:64, :64] - 31.5
    blob = torch.from_numpy(np.exp(-0.5 * ((cols / 10) ** 2 + (rows / 3) ** 2))).float()[None]
    op = MRIOperator(np.ones(64, bool))
    recon = OrientationDamage(op, target_deg)
    y = op(blob)
    with torch.no_grad():
        clean = recon(y)
    return AnalysisInput(op=op, recon=recon, y=y, clean=clean, x_true=blob, reference=blob, data_range=None,
                         region=region, noise=torch.zeros_like(y), seed=0, label="orientation-damage", config={},
                         experiment=Experiment(), reconstruction=None)


def test_the_search_finds_the_known_worst_angle_and_refines_between_grid_points():
    target = 2.37
    inputs = constructed_inputs(target)
    assert orientation_deg(rotate(inputs.x_true, target)).item() == pytest.approx(target, abs=0.02)
    steps, result = finish(run(inputs, Config(max_angle_deg=5.0, grid_step_deg=0.5, refine_steps=20, batch=8)))
    grid_best = result.curve_angles_deg[int(np.argmax(result.curve_mse))]
    assert grid_best == pytest.approx(2.5)  # the grid alone is 0.13° off
    assert result.worst_angle_deg == pytest.approx(target, abs=0.03)
    assert result.found_by == "refinement"
    summary = result.summary()
    worst, zero = summary["at_worst"], summary["at_zero"]
    assert worst["mse_vs_truth"] > 100 * zero["mse_vs_truth"]
    assert summary["damage"]["mse"] == pytest.approx(worst["mse_vs_truth"] - zero["mse_vs_truth"])
    assert worst["psnr_vs_truth"] < zero["psnr_vs_truth"]
    # what the front ends get: steps with a growing curve, a JSON-ready summary, flat rows, panels and words
    assert all(isinstance(step, AnalysisStep) for step in steps) and steps[-1].step == steps[-1].total
    grid_views = [step.view for step in steps if step.view is not None and step.view.curves]
    assert len(grid_views[0].curves[0].x) < len(grid_views[-1].curves[0].x) == 21
    json.dumps(summary)
    assert summary["analysis"] == "rotation" and summary["reconstruction"] == "orientation-damage"
    assert summary["config"] == {"max_angle_deg": 5.0, "grid_step_deg": 0.5, "refine_steps": 20, "batch": 8,
                                 "interpolation": "fourier"}
    for row in result.rows():
        assert row["analysis"] == "rotation"
        assert all(isinstance(value, (str, int, float)) for value in row.values())
    view = result.view()
    assert isinstance(view, AnalysisView) and [p.kind for p in view.panels] == ["grey", "grey", "signed", "signed"]
    assert view.curves[0].mark == pytest.approx(result.worst_angle_deg)
    assert "+2.3" in result.headline() or "+2.4" in result.headline()


def test_a_region_is_scored_where_the_object_moved():
    """A region off the blob sees no damage (the gain multiplies the blob only); on it, the worst angle is found."""
    off = torch.zeros(64, 64, dtype=torch.bool)
    off[2:12, 2:12] = True
    _, result = finish(run(constructed_inputs(-1.4, off), Config(grid_step_deg=0.5, refine_steps=0)))
    assert result.summary()["at_worst"]["mse_vs_truth"] < 1e-12
    on = torch.zeros(64, 64, dtype=torch.bool)
    on[26:38, 16:48] = True
    _, result = finish(run(constructed_inputs(-1.4, on), Config(grid_step_deg=0.5, refine_steps=12)))
    assert result.worst_angle_deg == pytest.approx(-1.4, abs=0.05)
    assert result.summary()["scored"] == "region"


# --- settings and determinism -----------------------------------------------------------------------------------

@pytest.mark.parametrize("values", [{"max_angle_deg": 0.0}, {"max_angle_deg": 31.0}, {"grid_step_deg": 0.001},
                                    {"grid_step_deg": 6.0}, {"refine_steps": -1}, {"refine_steps": 501},
                                    {"refine_steps": 2.5}, {"batch": 0}, {"max_angle_deg": float("nan")},
                                    {"interpolation": "cubic"}])
def test_settings_out_of_range_are_one_line_errors(values):
    with pytest.raises(ExperimentError) as error:
        registry.config_from("rotation", values)
    assert "\n" not in str(error.value)


def test_the_registry_names_it():
    analysis = registry.spec("rotation")
    assert analysis.title == TITLE == "Adversarial rotation"
    assert analysis.config_type is Config and Config().grid_step_deg == 0.1 and Config().refine_steps == 20
    for field_metadata in (f.metadata for f in Config.__dataclass_fields__.values()):
        assert field_metadata["help"]
    with pytest.raises(ExperimentError):
        registry.config_from("rotation", {"max_angle": 3.0})


def test_same_seed_same_numbers():
    """Zero-filled 4× at 64² (really damaged by turns), a region, a short search: two runs give the same summary
    to the last digit (a guard against change: the numbers are not checked here)."""
    experiment = Experiment(source=SourceConfig(image_size=64), recon=ReconConfig(name="zero-filled"), region=RECT)
    config = Config(max_angle_deg=1.0, grid_step_deg=0.5, refine_steps=3)
    summaries = [finish(run(analysis_input(experiment), config))[1].summary() for _ in range(2)]
    assert summaries[0] == summaries[1]
