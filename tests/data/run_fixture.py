"""Small finished attacks for the figure, report and compare tests: real runs of the core loop, a few seconds each."""
from __future__ import annotations

from halluview.core.attacks.objectives import ObjectiveConfig
from halluview.core.attacks.optimizers import OptimizerConfig
from halluview.core.attacks.run import AttackResult, run_to_end
from halluview.core.attacks.threat import ThreatConfig
from halluview.core.experiment import Experiment, OperatorConfig, ScanFacts, SourceConfig
from halluview.core.problem import build_problem
from halluview.core.recon.factory import ReconConfig

REGION = {"kind": "ellipse", "xywh": [20, 12, 10, 10]}


def small_experiment(demo: str = "brain", recon: str = "zero-filled", steps: int = 3, eps: float = 0.05,
                     operator: str = "mri", surrogate: str | None = None, **changes) -> Experiment:
    base = dict(source=SourceConfig(demo=demo, image_size=48), recon=ReconConfig(name=recon),
                operator=OperatorConfig(kind=operator, n_angles=30), optimizer=OptimizerConfig(steps=steps),
                threat=ThreatConfig(eps=eps), objective=ObjectiveConfig(kind="region"), region=REGION,
                surrogate=surrogate, device="cpu", noise_draws=2)
    base.update(changes)
    return Experiment(**base)


CT_FACTS = ScanFacts(source="demo:ct-small", modality="CT", units="HU", n_slices=1, shape=(128, 128))


def finished_run(**kwargs) -> tuple[Experiment, AttackResult]:
    experiment = small_experiment(**kwargs)
    return experiment, run_to_end(build_problem(experiment))
