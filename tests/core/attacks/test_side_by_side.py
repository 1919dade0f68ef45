"""Restarts side by side (one batch) give the attack one after another gives; the batch is sized by measured
activation memory; the noise draws are the same as drawn one by one."""
from types import SimpleNamespace

import numpy as np
import pytest
import torch

import halluview.core.attacks.memory as memory
import halluview.core.attacks.run as run
from halluview.core.attacks.optimizers import OptimizerConfig
from halluview.core.attacks.run import run_to_end
from halluview.core.attacks.threat import ThreatConfig
from halluview.core.experiment import Experiment, SourceConfig
from halluview.core.problem import build_problem
from halluview.core.recon.factory import ReconConfig


def experiment(recon="zero-filled", restarts=3) -> Experiment:
    return Experiment(source=SourceConfig(demo="brain", image_size=32), recon=ReconConfig(name=recon),
                      optimizer=OptimizerConfig(steps=6, restarts=restarts), threat=ThreatConfig(eps=0.05),
                      device="cpu", noise_draws=3)


# A network's batch rounding is amplified at the near-zero start of the first restart (a saddle of the objective,
# where f(y + δ) − f(y) is a difference of nearly equal numbers); the linear reconstruction agrees to rounding.
@pytest.mark.parametrize("recon, rtol", [("zero-filled", 1e-5), ("unet-mri-4x", 5e-3)])
def test_restarts_side_by_side_equal_one_after_another(monkeypatch, recon, rtol):
    calls = []

    def counted(problem, delta, wanted):
        calls.append(wanted)
        return wanted

    monkeypatch.setattr(run, "items_that_fit", counted)
    together = run_to_end(build_problem(experiment(recon)))
    monkeypatch.setattr(run, "items_that_fit", lambda problem, delta, wanted: 1)
    apart = run_to_end(build_problem(experiment(recon)))
    assert calls == [3]
    assert [h["step"] for h in together.history] == list(range(1, 19))
    assert [h["restart"] for h in together.history] == [0] * 6 + [1] * 6 + [2] * 6
    np.testing.assert_allclose([h["objective"] for h in together.history],
                               [h["objective"] for h in apart.history], rtol=rtol)
    np.testing.assert_allclose(together.delta, apart.delta, atol=100 * rtol * np.abs(apart.delta).max())
    assert together.objectives["attack"] == pytest.approx(apart.objectives["attack"], rel=rtol)


def test_side_by_side_steps_count_their_progress():
    steps = []
    run_to_end(build_problem(experiment()), steps.append)
    assert sorted(s.step for s in steps) == list(range(1, 19))
    assert [s.completed for s in steps] == list(range(1, 19))


def test_saved_bytes_counts_what_autograd_keeps():
    """sigmoid keeps its output for the backward pass, the sum keeps nothing: 4 bytes per float32 entry."""
    problem = SimpleNamespace(recon=torch.sigmoid, perturbed_measurement=lambda d: d + 1.0,
                              objective=SimpleNamespace(value=lambda x: x.sum(dim=(1, 2))))
    assert memory.saved_bytes(problem, torch.zeros(1, 40, 50)) == 40 * 50 * 4


def test_a_tensor_saved_twice_is_counted_once():
    """x * x keeps its input twice (once per factor): one storage, 4 bytes per float32 entry."""
    problem = SimpleNamespace(recon=lambda x: x * x, perturbed_measurement=lambda d: d + 1.0,
                              objective=SimpleNamespace(value=lambda x: x.sum(dim=(1, 2))))
    assert memory.saved_bytes(problem, torch.zeros(1, 40, 50)) == 40 * 50 * 4


def test_only_what_fits_runs_side_by_side(monkeypatch):
    problem = build_problem(experiment("unet-mri-4x"))
    per_item = memory.saved_bytes(problem, problem.threat.zeros())
    assert per_item > 0
    monkeypatch.setattr(memory, "available_memory_bytes", lambda device: int(2.5 * per_item / memory.BATCH_SHARE))
    assert memory.items_that_fit(problem, problem.threat.zeros(), 3) == 2
    assert memory.items_that_fit(problem, problem.threat.zeros(), 1) == 1
    monkeypatch.setattr(memory, "available_memory_bytes", lambda device: None)
    assert memory.items_that_fit(problem, problem.threat.zeros(), 3) == 1


def test_noise_draws_in_one_batch_equal_draws_one_by_one():
    problem = build_problem(experiment())
    delta = problem.threat.random_start(torch.Generator().manual_seed(5))
    baseline = run.noise_baseline(problem, delta, torch.Generator().manual_seed(1))
    generator = torch.Generator().manual_seed(1)
    for response, objective in zip(baseline.responses, baseline.objectives):
        noise = problem.threat.random_like_norm(delta, generator)
        alone = problem.recon(problem.perturbed_measurement(noise))
        torch.testing.assert_close(response, alone, rtol=1e-5, atol=1e-6)
        assert objective == pytest.approx(float(problem.objective.value(alone).sum()), rel=1e-5)


def test_batch_metrics_equal_each_image_alone():
    from halluview.core import metrics as metric_module
    from halluview.core.attacks.ascent import batch_metrics

    problem = build_problem(Experiment(source=SourceConfig(demo="brain", image_size=48), device="cpu",
                                       recon=ReconConfig(name="zero-filled"),
                                       region={"kind": "rect", "xywh": [10, 10, 12, 12]}))
    images = problem.clean + 0.01 * torch.randn((3, 48, 48), generator=torch.Generator().manual_seed(0))
    together = batch_metrics(problem, images)
    anchors = {"vs_clean": (problem.clean[0], float(problem.clean.max())),
               "vs_reference": (problem.reference[0], problem.data_range or float(problem.reference.max()))}
    assert len(together) == 3
    for image, found in zip(images, together):
        assert set(found) == set(anchors)
        for name, (anchor, peak) in anchors.items():
            alone = metric_module.compare(image, anchor, problem.region, data_range=peak)
            assert found[name] == pytest.approx(alone, rel=1e-9), name
