"""Transfer attacks: δ is found on a surrogate exactly as a direct attack on it would find it, and the result is
the target's response to that δ (its clean and perturbed reconstructions, its noise baseline)."""
import numpy as np
import pytest
import torch

from halluview.core.attacks.objectives import Objective
from halluview.core.attacks.optimizers import OptimizerConfig
from halluview.core.attacks.run import run_to_end
from halluview.core.experiment import Experiment, SourceConfig
from halluview.core.problem import build_problem
from halluview.core.recon.factory import ReconConfig


def _experiment(recon: ReconConfig, surrogate: str | None = None) -> Experiment:
    return Experiment(source=SourceConfig(demo="brain", image_size=48), recon=recon, surrogate=surrogate,
                      optimizer=OptimizerConfig(steps=4, random_start=True), seed=3, device="cpu", noise_draws=2)


def test_transfer_finds_the_surrogates_delta_and_reports_the_target():
    target = ReconConfig(name="tv", params={"lam": 0.02, "n_iter": 10})
    transfer = build_problem(_experiment(target, surrogate="zero-filled"))
    result = run_to_end(transfer)
    direct = run_to_end(build_problem(_experiment(ReconConfig(name="zero-filled"))))
    np.testing.assert_array_equal(result.delta, direct.delta)
    assert [h["objective"] for h in result.history] == [h["objective"] for h in direct.history]
    with torch.no_grad():
        clean = transfer.recon(transfer.y)
        perturbed = transfer.recon(transfer.perturbed_measurement(torch.from_numpy(result.delta)[None]))
    np.testing.assert_allclose(result.clean, clean[0].numpy(), rtol=0, atol=1e-6)
    np.testing.assert_allclose(result.perturbed, perturbed[0].numpy(), rtol=0, atol=1e-6)
    assert result.norms["recon_change_l2"] == pytest.approx(float(torch.linalg.vector_norm(perturbed - clean)),
                                                            rel=1e-5)
    assert result.norms["recon_change_l2"] != pytest.approx(direct.norms["recon_change_l2"], rel=1e-3)
    assert result.config["surrogate"] == "zero-filled"


def test_the_surrogate_must_differ_and_read_the_same_measurements():
    with pytest.raises(ValueError, match="attack it directly"):
        _experiment(ReconConfig(name="tv"), surrogate="tv").validate()
    with pytest.raises(ValueError, match="reconstructs CT, not MRI"):
        _experiment(ReconConfig(name="tv"), surrogate="fbpconvnet-ct-sparse").validate()


def test_the_deep_decoder_is_attacked_directly_and_by_transfer():
    """Through the engine at 32²: a direct attack differentiates through the whole fit and changes the fitted image
    far more than equal-norm noise; a transfer attack replays zero-filling's δ on it (measured here: about as
    much change as noise, the fit does not share zero-filling's worst direction)."""
    from dataclasses import replace

    from halluview.core.attacks.threat import ThreatConfig
    from halluview.core.recon.untrained import DeepDecoderRecon

    experiment = replace(_experiment(ReconConfig(name="zero-filled")), threat=ThreatConfig(eps=0.05),
                         source=SourceConfig(demo="brain", image_size=32),
                         optimizer=OptimizerConfig(steps=3, random_start=True))
    problem = build_problem(experiment)
    decoder = DeepDecoderRecon(problem.op, image_size=32, channels=8, levels=3, iterations=30, lr=0.03)
    with torch.no_grad():
        clean = decoder(problem.y)
    direct = replace(problem, recon=decoder, clean=clean, objective=Objective(experiment.objective, clean))
    by_transfer = replace(direct, surrogate=problem)
    result = run_to_end(direct)
    np.testing.assert_allclose(result.clean, clean[0].numpy(), atol=1e-6)
    assert result.norms["recon_change_l2"] > 2 * result.norms["noise_recon_change_l2_mean"]
    transferred = run_to_end(by_transfer)
    np.testing.assert_array_equal(transferred.delta, run_to_end(problem).delta)
    with torch.no_grad():
        replayed = decoder(problem.perturbed_measurement(torch.from_numpy(transferred.delta)[None]))
    np.testing.assert_allclose(transferred.perturbed, replayed[0].numpy(), atol=1e-6)


def test_a_refitted_reconstruction_is_judged_against_its_own_variation():
    """The Deep Decoder's output moves between refits from other random starts; a perturbation of relative size
    1e-7 (far below any attack) must not be reported as an effect, and the spread is the refits' own (checked by
    refitting here)."""
    from dataclasses import replace

    from halluview.core.attacks.baseline import REFIT_SEEDS
    from halluview.core.attacks.threat import ThreatConfig
    from halluview.core.recon.untrained import DeepDecoderRecon

    experiment = replace(_experiment(ReconConfig(name="zero-filled")), threat=ThreatConfig(eps=1e-7),
                         source=SourceConfig(demo="brain", image_size=32), optimizer=OptimizerConfig(steps=2))
    problem = build_problem(experiment)
    decoder = DeepDecoderRecon(problem.op, image_size=32, channels=8, levels=3, iterations=30, lr=0.03, seed=4)
    with torch.no_grad():
        clean = decoder(problem.y)
        refits = [decoder.with_seed(4 + offset)(problem.y) for offset in REFIT_SEEDS]
    target = replace(problem, recon=decoder, clean=clean, objective=Objective(experiment.objective, clean),
                     surrogate=problem)
    result = run_to_end(target)
    expected = np.mean([float(torch.linalg.vector_norm(r - clean)) for r in refits])
    assert result.refit_spread["recon_change_l2_mean"] == pytest.approx(expected, rel=1e-5)
    assert result.refit_spread["attack_change_ratio"] == pytest.approx(result.norms["recon_change_l2"] / expected,
                                                                       rel=1e-5)
    assert expected > 0 and decoder.seed == 4  # refits leave the attacked reconstruction's own seed alone
    assert result.norms["recon_change_l2"] < 2 * expected
    assert any("own variation between refits" in w for w in result.verdict.warnings)
    assert run_to_end(problem).refit_spread is None  # deterministic reconstructions have none
