"""Attacks: analytic optimum on a linear reconstruction, budgets, regions, objectives, determinism."""
import numpy as np
import pytest
import torch

from halluview.core.attacks.objectives import ObjectiveConfig
from halluview.core.attacks.optimizers import OptimizerConfig
from halluview.core.attacks.run import run_attack, run_to_end
from halluview.core.attacks.threat import Threat, ThreatConfig
from halluview.core.experiment import Experiment, OperatorConfig, SourceConfig
from halluview.core.problem import build_problem
from halluview.core.recon.factory import ReconConfig


def experiment(**changes) -> Experiment:
    base = dict(source=SourceConfig(demo="brain", image_size=64), recon=ReconConfig(name="zero-filled"),
                optimizer=OptimizerConfig(steps=30), threat=ThreatConfig(eps=0.05), device="cpu")
    base.update(changes)
    return Experiment(**base)


@pytest.mark.parametrize("coils", [1, 4])
def test_pgd_reaches_the_analytic_optimum_of_zero_filled(coils):
    """‖f(y+δ) − f(y)‖ ≤ ‖F⁻¹δ‖ = ‖δ‖ ≤ ε‖y‖ (orthonormal FFT, δ on acquired samples, Σ|S|² = 1); δ = εy attains it."""
    eps = 0.05
    problem = build_problem(experiment(operator=OperatorConfig(n_coils=coils),
                                       optimizer=OptimizerConfig(steps=60), threat=ThreatConfig(eps=eps)))
    result = run_to_end(problem)
    optimum = eps * result.norms["y_l2"]
    assert result.norms["delta_l2"] <= optimum * (1 + 1e-5)
    assert result.norms["recon_change_l2"] >= 0.99 * optimum
    assert result.norms["recon_change_l2"] <= optimum * (1 + 1e-4)
    # Equal-norm random noise does far less than the worst case.
    assert result.norms["noise_recon_change_l2_mean"] < 0.9 * result.norms["recon_change_l2"]


def test_perturbation_stays_on_acquired_kspace_samples():
    problem = build_problem(experiment())
    result = run_to_end(problem)
    unacquired = ~problem.op.mask.expand_as(problem.y)[0].numpy()
    assert np.abs(result.delta[unacquired]).max() == 0
    assert np.abs(result.delta).max() > 0


def test_same_seed_same_delta_and_different_seed_different_delta():
    runs = [run_to_end(build_problem(experiment(seed=s, optimizer=OptimizerConfig(steps=8, random_start=True))))
            for s in (1, 1, 2)]
    np.testing.assert_array_equal(runs[0].delta, runs[1].delta)
    assert runs[0].history == [{**h, "elapsed_s": r["elapsed_s"]} for h, r in zip(runs[1].history,
                                                                                   runs[0].history)]
    assert not np.array_equal(runs[0].delta, runs[2].delta)


@pytest.mark.parametrize("config", [
    ThreatConfig(norm="linf", eps=0.02),
    ThreatConfig(norm="l2", eps=0.5, eps_mode="absolute"),
    ThreatConfig(norm="l2", eps=0.03, per_coil=True),
])
def test_budgets_hold(config):
    problem = build_problem(experiment(threat=config, operator=OperatorConfig(n_coils=3),
                                       optimizer=OptimizerConfig(steps=6, random_start=True)))
    result = run_to_end(problem)
    delta, y = torch.from_numpy(result.delta), problem.y[0]
    if config.norm == "linf":
        assert delta.abs().max() <= config.eps * y.abs().max() * (1 + 1e-5)
    elif config.eps_mode == "absolute":
        assert torch.linalg.vector_norm(delta) <= config.eps * (1 + 1e-5)
    else:  # per coil
        for c in range(y.shape[0]):
            assert torch.linalg.vector_norm(delta[c]) <= config.eps * torch.linalg.vector_norm(y[c]) * (1 + 1e-5)
    assert max(h["realised_eps"] for h in result.history) <= config.eps * (1 + 1e-5)


def test_region_attack_changes_the_region_far_more_than_outside():
    region = {"kind": "rect", "xywh": [24, 20, 12, 12]}
    problem = build_problem(experiment(region=region, objective=ObjectiveConfig(kind="region", outside_weight=1.0),
                                       optimizer=OptimizerConfig(steps=40)))
    result = run_to_end(problem)
    change = np.abs(result.perturbed - result.clean)
    mask = problem.region.numpy()
    inside, outside = change[mask].mean(), change[~mask].mean()
    assert inside > 5 * outside
    untargeted = run_to_end(build_problem(experiment(optimizer=OptimizerConfig(steps=40))))
    untargeted_change = np.abs(untargeted.perturbed - untargeted.clean)
    assert inside / outside > 3 * untargeted_change[mask].mean() / untargeted_change[~mask].mean()


def test_insert_attack_moves_the_region_towards_the_lesion():
    region = {"kind": "ellipse", "xywh": [26, 26, 10, 10]}
    problem = build_problem(experiment(region=region, objective=ObjectiveConfig(
        kind="insert", lesion={"shape": "disc", "intensity": 1.0}), threat=ThreatConfig(eps=0.1),
        optimizer=OptimizerConfig(steps=40)))
    target, scored = problem.objective.target[0].numpy(), problem.objective.inside.bool().numpy()
    result = run_to_end(problem)
    before = np.abs(result.clean - target)[scored].mean()
    after = np.abs(result.perturbed - target)[scored].mean()
    assert after < 0.6 * before


def test_image_domain_and_patch_threats():
    problem = build_problem(experiment(threat=ThreatConfig(domain="image", eps=0.05)))
    result = run_to_end(problem)
    assert np.linalg.norm(result.delta) <= 0.05 * float(torch.linalg.vector_norm(problem.x_true)) * (1 + 1e-5)
    region = {"kind": "rect", "xywh": [10, 10, 6, 5]}
    patch = build_problem(experiment(region=region, threat=ThreatConfig(domain="patch", patch_area_px=30,
                                                                        norm="linf", eps=0.2, eps_mode="absolute")))
    result = run_to_end(patch)
    outside = ~patch.region.numpy()
    assert np.abs(result.delta[outside]).max() == 0 and np.abs(result.delta).max() <= 0.2 + 1e-6
    with pytest.raises(ValueError, match="30 pixels, more than its budget of 29"):
        build_problem(experiment(region=region, threat=ThreatConfig(domain="patch", patch_area_px=29)))


def test_adam_and_cosine_schedule_also_climb():
    for optimizer in (OptimizerConfig(method="adam", steps=30), OptimizerConfig(steps=30, schedule="cosine")):
        result = run_to_end(build_problem(experiment(optimizer=optimizer)))
        assert result.norms["recon_change_l2"] >= 0.9 * 0.05 * result.norms["y_l2"]


def test_restarts_keep_the_worst_case():
    single = run_to_end(build_problem(experiment(optimizer=OptimizerConfig(steps=5))))
    many = run_to_end(build_problem(experiment(optimizer=OptimizerConfig(steps=5, restarts=3))))
    assert len(many.history) == 15
    best = max(h["objective"] for h in many.history)
    assert many.history[-1]["step"] == 15
    assert best >= max(h["objective"] for h in single.history)


class EveryThirdRead:
    """A paint clock that reads the steps every third step and computes metrics on every other read."""

    def __init__(self):
        self.calls = self.reads = 0

    def read_due(self):
        self.calls += 1
        return self.calls % 3 == 1

    def metrics_due(self):
        self.reads += 1
        return self.reads % 2 == 1

    def metrics_took(self, started):
        pass


def test_every_step_is_recorded_but_images_and_metrics_come_at_the_paint_rate(monkeypatch):
    import halluview.core.attacks.run as run

    monkeypatch.setattr(run, "PaintClock", EveryThirdRead)
    problem = build_problem(experiment(optimizer=OptimizerConfig(steps=10)))
    steps = []
    result = run_to_end(problem, steps.append)
    assert [s.step for s in steps] == list(range(1, 11))
    assert all(np.isfinite(s.objective) and s.realised_eps > 0 for s in steps)
    # Reads after steps 1, 4, 7 and 10 (the last): images on each read's newest step, metrics on every other one
    # and on the last.
    assert [s.step for s in steps if s.perturbed is not None] == [1, 4, 7, 10]
    assert [s.step for s in steps if s.metrics] == [1, 7, 10]
    assert isinstance(steps[3].perturbed, np.ndarray) and steps[3].difference.shape == (64, 64)
    assert {"vs_clean", "vs_reference"} <= set(steps[-1].metrics)
    assert [h["objective"] for h in result.history] == [s.objective for s in steps]


def test_reading_on_the_host_rarely_changes_nothing_of_the_ascent(monkeypatch):
    """The ascent never waits for the host: reading every step or every third step gives the same attack."""
    import halluview.core.attacks.run as run

    config = experiment(optimizer=OptimizerConfig(steps=12, restarts=2))
    every = run_to_end(build_problem(config))
    monkeypatch.setattr(run, "PaintClock", EveryThirdRead)
    rarely = run_to_end(build_problem(config))
    assert [h["objective"] for h in every.history] == [h["objective"] for h in rarely.history]
    assert np.array_equal(every.delta, rarely.delta)
    best = int(np.argmax([h["objective"] for h in every.history]))
    assert every.objectives["attack"] == pytest.approx(every.history[best]["objective"], rel=1e-5)


def test_stopping_cancels():
    problem = build_problem(experiment(image_every=2, optimizer=OptimizerConfig(steps=10)))
    attack = run_attack(problem)
    first = next(attack)
    attack.close()  # what a cancelling consumer does
    assert first.step == 1 and first.metrics and first.perturbed is None  # step 1 is not a multiple of 2


def test_the_paint_clock_keeps_metrics_to_their_share(monkeypatch):
    import halluview.core.attacks.ascent as ascent

    now = [0.0]
    monkeypatch.setattr(ascent.time, "perf_counter", lambda: now[0])
    clock = ascent.PaintClock(interval_s=0.05, share=0.02)
    assert clock.read_due() and not clock.read_due()  # at most one read per interval
    now[0] = 0.06
    assert clock.read_due()
    assert clock.metrics_due()
    clock.metrics_took(0.05)  # they took 10 ms: the next may come 0.5 s later
    now[0] = 0.5
    assert not clock.metrics_due()
    now[0] = 0.561
    assert clock.metrics_due()


def test_threat_projection_is_the_closest_point():
    y = torch.randn(1, 1, 8, 8, dtype=torch.complex64)
    threat = Threat(ThreatConfig(eps=0.1), y)
    big = y * 3
    projected = threat.project(big)
    assert float(torch.linalg.vector_norm(projected)) == pytest.approx(0.1 * float(torch.linalg.vector_norm(y)),
                                                                       rel=1e-5)
    torch.testing.assert_close(projected / torch.linalg.vector_norm(projected), big / torch.linalg.vector_norm(big))
    small = y * 0.01
    torch.testing.assert_close(threat.project(small), small)
