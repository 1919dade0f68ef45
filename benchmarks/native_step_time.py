"""Step time at native sizes: one attack step's forward + backward through each built-in model at 128², 256² and
512² (the built-in brain phantom at that working size), median of a few steps, in milliseconds; and the ratio to
128², measured in the same run.

    python benchmarks/native_step_time.py [--sizes 128 256 512] [--steps 5] [--models unet-mri-4x ...]
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from halluview.core.choices import Choices, experiment_for
from halluview.core.problem import build_problem
from halluview.core.recon.zoo import MODELS

SLOW = ("deep-decoder-mri-4x",)  # refitted per measurement: attacked by transfer, not per step


def step_ms(name: str, size: int, steps: int) -> float:
    """Median milliseconds of one forward + backward of ``name`` on a ``size``² image."""
    choices = Choices(source={"demo": "brain", "image_size": size}, recon={"name": name}, device="cpu")
    problem = build_problem(experiment_for(None, choices))  # the model brings the acquisition it was made for
    delta = problem.threat.zeros()
    times = []
    for _ in range(steps + 1):  # the first step warms up
        started = time.perf_counter()
        delta.requires_grad_(True)
        value = ((problem.recon(problem.perturbed_measurement(delta)) - problem.clean) ** 2).sum()
        (grad,) = torch.autograd.grad(value, delta)
        delta = (delta.detach() + 1e-6 * grad).detach()
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256, 512])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--models", nargs="+", default=[n for n in MODELS if n not in SLOW])
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU")
    print("model".ljust(24) + "".join(f"{s}² ms".rjust(12) for s in args.sizes) + "   ratio to the first size")
    for name in args.models:
        try:
            times = [step_ms(name, size, args.steps) for size in args.sizes]
        except (ValueError, RuntimeError) as err:  # a model that does not run at some size says why
            print(f"{name.ljust(24)}not measured: {str(err).splitlines()[0]}")
            continue
        ratios = " ".join(f"{t / times[0]:.1f}×" for t in times)
        print(name.ljust(24) + "".join(f"{t:12.1f}" for t in times) + f"   {ratios}")


if __name__ == "__main__":
    main()
