"""Transfer attacks: δ is found on a surrogate exactly as a direct attack on it would find it, and the result is
the target's response to that δ (its clean and perturbed reconstructions, its noise baseline)."""
import numpy as np
import pytest
import torch

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
