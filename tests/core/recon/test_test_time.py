"""Test-time training: the adaptation itself (loss, an analytic case, the split, determinism, the original left
alone) and what it refuses."""
import hashlib

import numpy as np
import pytest
import torch
from torch import nn

from halluview.core.errors import ExperimentError
from halluview.core.experiment import Experiment, OperatorConfig, ReconConfig, SourceConfig
from halluview.core.physics.mri import build_mri_operator
from halluview.core.recon.config import TTTSettings
from halluview.core.recon.test_time import (
    DENOISING,
    adapt,
    adapted_reconstruction,
    check_test_time,
    deployment,
    scores,
    split_masks,
)


class Gain(nn.Module):
    """f_a(y) = a · zero-filled(y), remembering the last measurement it was given."""

    def __init__(self, op, gain: float = 0.5):
        super().__init__()
        self.op, self.gain = op, nn.Parameter(torch.tensor(gain))
        self.inputs = []

    def forward(self, y):
        self.inputs.append(y.detach().clone())
        return self.gain * self.op.baseline(y)


def _image(size: int = 32) -> torch.Tensor:
    return torch.rand(1, size, size, generator=torch.Generator().manual_seed(1)) + 0.1


def test_full_mask_gain_network_follows_adam_analytically():
    # Full mask, real positive x: zero-filled(y) = x, so L(a) = ‖F(a x) − F x‖² / ‖F x‖² = (a − 1)²;
    # Adam's first step moves a by lr · g / (|g| + 1e-8) = lr (g = 2(a − 1) < 0).
    op = build_mri_operator((32, 32), mask_type="full")
    x = _image()
    model, record = adapt(Gain(op), op, op(x), TTTSettings(steps=1, lr=0.01))
    assert record.losses[0] == pytest.approx(0.25, rel=1e-5)
    assert record.losses[1] == pytest.approx((0.5 - 0.01) ** 2, rel=1e-5)
    torch.testing.assert_close(model(op(x)), 0.51 * x, atol=1e-5, rtol=1e-5)


def test_loss_decreases_and_the_original_is_untouched():
    op = build_mri_operator((32, 32), acceleration=4, mask_type="random")
    original = Gain(op).requires_grad_(False)  # as build_reconstructor hands it over
    adapted = adapted_reconstruction(original, op, op(_image()), TTTSettings(steps=5, lr=0.05), "gain")
    losses = adapted.record.losses
    assert len(losses) == 6 and all(b < a for a, b in zip(losses, losses[1:]))
    assert float(original.gain) == 0.5 and not original.gain.requires_grad and original.inputs == []
    assert float(adapted.adapted.gain) > 0.5 and not adapted.adapted.gain.requires_grad
    assert list(adapted.parameters()) == list(adapted.adapted.parameters())  # the original is not a submodule


def test_split_holds_out_columns_from_the_input_and_keeps_the_centre():
    op = build_mri_operator((32, 64), acceleration=2, center_fraction=0.125, mask_type="random")
    theta, lam = split_masks(op, 0.4, seed=3)
    acquired = op.mask.reshape(-1)
    theta, lam = theta.reshape(-1), lam.reshape(-1)
    assert not (theta & lam).any() and torch.equal(theta | lam, acquired)
    assert int(lam.sum()) == round(0.4 * int(acquired.sum()))
    centre = slice(32 - 4, 32 + 4)  # 8 central columns (12.5 % of 64)
    assert theta[centre].all()
    assert not torch.equal(split_masks(op, 0.4, seed=4)[1].reshape(-1), lam)  # the seed draws the split


def test_the_network_input_has_nothing_in_the_held_out_columns():
    op = build_mri_operator((32, 64), acceleration=2, center_fraction=0.125, mask_type="random")
    model, record = adapt(Gain(op), op, op(_image(32).repeat(1, 1, 2)), TTTSettings(steps=2, split=0.4, seed=3))
    _, lam = split_masks(op, 0.4, seed=3)
    seen = model.inputs  # the adapted copy's own record of what it was given
    assert len(seen) == 3 and all(float((y * lam).abs().max()) == 0 for y in seen)
    assert record.held_out_columns == int(lam.sum())
    assert record.input_columns == int(op.mask.sum()) - int(lam.sum())


def test_adaptation_is_deterministic():
    op = build_mri_operator((32, 64), acceleration=2, mask_type="random")
    y = op(_image(32).repeat(1, 1, 2))
    settings = TTTSettings(steps=3, lr=0.02, split=0.3, seed=5)
    first, second = adapt(Gain(op), op, y, settings), adapt(Gain(op), op, y, settings)
    assert first[1].losses == second[1].losses
    assert torch.equal(first[0](y), second[0](y))


def test_builtin_network_weights_on_disk_are_unchanged():
    from halluview.core.problem import build_problem
    from halluview.core.recon.zoo import MODELS

    path = MODELS["unet-mri-4x"].weights_path
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    experiment = Experiment(source=SourceConfig(image_size=32), device="cpu", noise_draws=1,
                            recon=ReconConfig(name="unet-mri-4x", ttt={"steps": 3, "lr": 1e-4}))
    problem = build_problem(experiment)
    record = problem.recon.record
    assert record.loss_after < record.loss_before
    assert set(record.clean) == {"before", "after"} and record.clean["after"]["ssim"] != record.clean["before"]["ssim"]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
    fresh = MODELS["unet-mri-4x"].load(problem.op)
    for kept, loaded in zip(problem.recon.original.state_dict().values(), fresh.state_dict().values()):
        assert torch.equal(kept, loaded)
    # re-adapting on the clean measurement starts from the original weights: it gives the clean image again
    image, _ = problem.recon.readapt(problem.y)
    torch.testing.assert_close(image, problem.clean)
    # the deployment scores a network re-adapted on y + δ, not the frozen one under y + δ
    noise = torch.randn(problem.y.shape, dtype=problem.y.dtype, generator=torch.Generator().manual_seed(0))
    delta = 0.05 * float(problem.y.abs().max()) * noise * problem.op.mask
    deployed = deployment(problem, delta)["deployed"]
    readapted, _ = problem.recon.readapt(problem.y + delta)
    assert deployed["vs_clean"]["ssim"] == pytest.approx(scores(readapted, problem.clean)["ssim"], abs=1e-12)
    frozen = scores(problem.recon(problem.y + delta), problem.clean)["ssim"]
    assert deployed["vs_clean"]["ssim"] != pytest.approx(frozen, abs=1e-6)


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
def test_torchscript_file_is_adapted_and_left_as_it_was(tmp_path):
    from halluview.core.problem import build_problem

    path = tmp_path / "net.pt"
    torch.jit.script(nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 1, 3, padding=1))).save(
        str(path))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    experiment = Experiment(source=SourceConfig(image_size=32), device="cpu", noise_draws=1,
                            recon=ReconConfig(name="torchscript", weights=str(path), ttt={"steps": 3, "lr": 1e-2}))
    record = build_problem(experiment).recon.record
    assert record.loss_after < record.loss_before
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest


def _experiment(recon: str, kind: str = "mri", **ttt) -> Experiment:
    return Experiment(operator=OperatorConfig(kind=kind), recon=ReconConfig(name=recon, ttt=ttt or {"steps": 2}))


@pytest.mark.parametrize("recon", ["tv", "zero-filled", "wavelet-mri-4x", "deep-decoder-mri-4x"])
def test_methods_without_weights_are_refused(recon):
    with pytest.raises(ExperimentError, match=f"adapts a network's learned weights to the scan, and {recon} has "
                                              "none"):
        check_test_time(_experiment(recon))


def test_denoising_and_file_kspace_and_a_ct_split_are_refused():
    with pytest.raises(ExperimentError) as caught:
        check_test_time(_experiment("torchscript", "denoise"))
    assert str(caught.value) == DENOISING
    with pytest.raises(ExperimentError, match="own k-space carries phase"):
        check_test_time(_experiment("unet-mri-4x"), file_kspace=True)
    with pytest.raises(ExperimentError, match="for CT use split 0"):
        check_test_time(_experiment("fbpconvnet-ct-sparse", "ct", steps=2, split=0.2))


@pytest.mark.parametrize("ttt, words", [({"steps": 0}, "steps must be a whole number 1..10000, not 0"),
                                        ({"lr": -1.0}, "learning rate must be in \\(0, 1\\], not -1.0"),
                                        ({"split": 0.95}, "split .* must be in \\[0, 0.9\\], not 0.95"),
                                        ({"stepz": 3}, "unknown TTTSettings settings: stepz"),
                                        ({"seed": -1}, "seed must be a whole number ≥ 0, not -1")])
def test_settings_out_of_range_are_one_clear_line(ttt, words):
    experiment = Experiment(recon=ReconConfig(ttt=ttt))
    with pytest.raises(ExperimentError, match=words):
        experiment.validate_settings()


def test_a_split_too_large_for_the_acquired_columns_is_refused():
    op = build_mri_operator((32, 32), acceleration=8, center_fraction=0.25, mask_type="equispaced")
    with pytest.raises(ExperimentError, match="outside the fully sampled centre"):
        split_masks(op, 0.9, seed=0)


def test_settings_round_trip_and_leave_other_reports_readable():
    experiment = Experiment(recon=ReconConfig(ttt={"steps": 4, "lr": 3e-4, "split": 0.2, "seed": 1}))
    again = Experiment.from_dict(experiment.to_dict())
    assert again.recon.ttt == {"steps": 4, "lr": 3e-4, "split": 0.2, "seed": 1}
    old_report = Experiment().to_dict()
    del old_report["recon"]["ttt"]  # a report written before test-time training existed
    assert Experiment.from_dict(old_report).recon.ttt is None
    assert np.isclose(TTTSettings.from_dict({"steps": 2}).lr, TTTSettings().lr)
