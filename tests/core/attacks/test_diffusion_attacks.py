"""The built-in diffusion reconstruction through the attack engine: by transfer from the U-Net (its default) and
directly through a few checkpointed sampling steps; both judged against the spread of the sampler's own seeds."""
from dataclasses import replace

import pytest
import torch

from halluview.core.attacks.baseline import REFIT_SEEDS
from halluview.core.attacks.run import run_to_end
from halluview.core.choices import Choices, experiment_for
from halluview.core.experiment import ScanFacts
from halluview.core.problem import build_problem
from halluview.core.samples import load_sample
from halluview.core.study.grid import cell_rows, cells, study_config

FEW_STEPS = {"name": "diffusion-mri-4x", "params": {"sampling_steps": 3}}


def _experiment(surrogate: str | None):
    brain = load_sample("brain")
    choices = Choices(source={"demo": "brain", "image_size": 48}, recon=FEW_STEPS, threat={"eps": 0.05},
                      optimizer={"steps": 2, "random_start": True}, surrogate=surrogate, device="cpu", seed=1)
    return replace(experiment_for(ScanFacts.of(brain), choices), noise_draws=1)


def test_picking_the_diffusion_model_attacks_it_by_transfer_from_the_unet():
    experiment = _experiment(None)
    assert experiment.surrogate == "unet-mri-4x" and experiment.recon.params["sampling_steps"] == 3
    problem = build_problem(experiment)
    assert problem.recon.sampling_steps == 3
    result = run_to_end(problem)
    spread = result.refit_spread
    assert spread["refits"] == len(REFIT_SEEDS) and spread["recon_change_l2_mean"] > 0
    with torch.no_grad():  # the spread is the sampler's own: other seeds of the same measurement
        other = problem.recon.with_seed(problem.recon.seed + REFIT_SEEDS[0])(problem.y)
    assert float(torch.linalg.vector_norm(other - problem.clean)) > 0
    assert result.config["surrogate"] == "unet-mri-4x"


def test_the_diffusion_model_is_attackable_directly_through_its_sampler():
    problem = build_problem(_experiment("none"))
    delta = torch.zeros_like(problem.y).requires_grad_(True)
    problem.recon(problem.perturbed_measurement(delta)).sum().backward()
    assert float(delta.grad.abs().sum()) > 0  # the gradient reaches the measurement through every step
    result = run_to_end(problem)
    assert result.norms["recon_change_l2"] > 0 and result.config["surrogate"] is None
    assert result.norms["realised_eps"] <= 0.05 * (1 + 1e-5)
    assert result.verdict is not None and result.refit_spread["attack_change_ratio"] == pytest.approx(
        result.norms["recon_change_l2"] / result.refit_spread["recon_change_l2_mean"])


def test_a_study_row_gives_the_change_in_units_of_the_seeds_own_variation():
    config = study_config({"sources": [{"demo": "brain", "image_size": 48}], "recons": [FEW_STEPS, "zero-filled"],
                           "eps": [0.05], "choices": {"device": "cpu", "optimizer": {"steps": 1}}})
    grid = cells(config, lambda _source: ScanFacts.of(load_sample("brain")))
    for cell in grid:
        result = run_to_end(build_problem(replace(cell.experiment, noise_draws=1)))
        attack, noise = cell_rows(cell, result, 1.0)
        if cell.experiment.recon.name == "zero-filled":
            assert attack["seed_spread_ratio"] == "" == noise["seed_spread_ratio"]
            continue
        spread = result.refit_spread["recon_change_l2_mean"]
        assert attack["seed_spread_ratio"] == pytest.approx(result.norms["recon_change_l2"] / spread)
        assert noise["seed_spread_ratio"] == pytest.approx(result.norms["noise_recon_change_l2_mean"] / spread)
