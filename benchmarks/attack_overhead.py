"""Engine overhead: N PGD steps through run_attack (metrics and images every step) against N bare
forward + backward passes of the same model on the same input. Prints the ratio (goal ≤ 1.10).

    python benchmarks/attack_overhead.py [--steps 50] [--recon unet-mri-4x] [--size 128] [--device cpu]
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from halluview.core.attacks.optimizers import OptimizerConfig
from halluview.core.attacks.run import run_to_end
from halluview.core.experiment import Experiment, SourceConfig
from halluview.core.problem import build_problem
from halluview.core.recon.factory import ReconConfig


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def bare_seconds(problem, steps: int) -> float:
    """The floor: forward, loss, backward — nothing else."""
    delta = problem.threat.zeros()
    device = problem.y.device
    _sync(device)
    started = time.perf_counter()
    for _ in range(steps):
        delta.requires_grad_(True)
        value = ((problem.recon(problem.y + delta) - problem.clean) ** 2).sum()
        grad, = torch.autograd.grad(value, delta)
        delta = (delta.detach() + 1e-6 * grad).detach()
    _sync(device)
    return time.perf_counter() - started


def engine_seconds(problem, steps: int) -> float:
    problem.optimizer = OptimizerConfig(steps=steps)
    problem.image_every, problem.noise_draws = 1, 1
    started = time.perf_counter()
    run_to_end(problem)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--recon", default="unet-mri-4x")
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    experiment = Experiment(source=SourceConfig(demo="brain", image_size=args.size),
                            recon=ReconConfig(name=args.recon), device=args.device,
                            region={"kind": "rect", "xywh": [40, 40, 20, 20]})
    problem = build_problem(experiment)
    bare_seconds(problem, 3)  # warm-up
    ratios, bares, engines = [], [], []
    for _ in range(args.repeats):  # interleaved, so drifting machine load hits both alike
        bare = bare_seconds(problem, args.steps)
        engine = engine_seconds(problem, args.steps)
        bares.append(bare)
        engines.append(engine)
        ratios.append(engine / bare)
    print(f"recon {args.recon}, {args.size}×{args.size}, device {problem.y.device}, {args.steps} steps × "
          f"{args.repeats} repeats")
    print(f"bare forward+backward: {statistics.median(bares) / args.steps * 1e3:.1f} ms/step")
    print(f"engine (metrics + images every step): {statistics.median(engines) / args.steps * 1e3:.1f} ms/step")
    print(f"overhead ratio (median): {statistics.median(ratios):.3f}   (goal ≤ 1.10)")


if __name__ == "__main__":
    main()
