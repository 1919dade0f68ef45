"""The GPU figures of the issue: a 100-step PGD attack on the fastMRI U-Net (chans 32, 4 pools; random seeded
weights) at 320² through the engine, in wall seconds (goal ≤ 2 s on an H200-class GPU), with the engine's step loop
over the bare forward + backward loop (goal ≤ 1.10 on a GPU). Runs on the CPU too (then the goals do not apply).

    python benchmarks/gpu_attack.py [--device cuda] [--size 320] [--steps 100] [--chans 32] [--quick] [--json F]
"""
from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from halluview.core.attacks.optimizers import OptimizerConfig
from halluview.core.attacks.run import run_attack
from halluview.core.experiment import Experiment, SourceConfig
from halluview.core.problem import build_problem
from halluview.core.recon.factory import ReconConfig
from halluview.core.recon.learned import UnetPostProcessing
from halluview.core.recon.unet import Unet


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def fastmri_unet_problem(size: int, chans: int, device: str):
    """The built-in example at ``size``² with fastMRI's U-Net (``chans`` channels, random weights) attacked."""
    problem = build_problem(Experiment(source=SourceConfig(demo="brain", image_size=size),
                                       recon=ReconConfig(name="unet-mri-4x"), device=device))
    torch.manual_seed(0)
    recon = UnetPostProcessing(problem.op, Unet(1, 1, chans=chans, num_pool_layers=4)).to(problem.y.device).eval()
    for parameter in recon.parameters():
        parameter.requires_grad_(False)
    with torch.no_grad():
        clean = recon(problem.y)
    problem.recon, problem.clean, problem.objective.clean = recon, clean, clean
    return problem


def bare_seconds(problem, steps: int) -> float:
    delta = problem.threat.zeros()
    _sync(problem.y.device)
    started = time.perf_counter()
    for _ in range(steps):
        delta.requires_grad_(True)
        value = ((problem.recon(problem.y + delta) - problem.clean) ** 2).sum()
        grad, = torch.autograd.grad(value, delta)
        delta = (delta.detach() + 1e-6 * grad).detach()
    _sync(problem.y.device)
    return time.perf_counter() - started


def engine_seconds(problem, steps: int) -> tuple[float, float]:
    """(step loop, whole attack) wall seconds of an N-step PGD attack, every record consumed."""
    problem.optimizer = OptimizerConfig(steps=steps)
    started, loop = time.perf_counter(), None
    attack = run_attack(problem)
    while True:
        try:
            step = next(attack)
        except StopIteration:
            return loop, time.perf_counter() - started
        if step.step == step.total:
            loop = time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--size", type=int, default=320)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--chans", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="a smoke run: 64², 3 steps, chans 8")
    parser.add_argument("--json", help="also write the rows here, for benchmarks/run_all.py")
    args = parser.parse_args()
    if args.quick:
        args.size, args.steps, args.chans, args.repeats = 64, 3, 8, 1
    problem = fastmri_unet_problem(args.size, args.chans, args.device)
    device = problem.y.device
    bare_seconds(problem, 3)
    engine_seconds(problem, 3)  # warm-up: kernels, caches
    bares, loops, wholes = [], [], []
    for _ in range(args.repeats):
        bares.append(bare_seconds(problem, args.steps))
        loop, whole = engine_seconds(problem, args.steps)
        loops.append(loop)
        wholes.append(whole)
    whole, ratio = statistics.median(wholes), statistics.median(lp / b for lp, b in zip(loops, bares))
    gpu = device.type == "cuda"
    print(f"fastMRI U-Net chans {args.chans}, {args.size}², {args.steps}-step PGD on {device}: whole attack "
          f"{whole:.2f} s{' (goal ≤ 2 s)' if gpu else ''}; step loop / bare {ratio:.3f}"
          f"{' (goal ≤ 1.10)' if gpu else ''}; bare {statistics.median(bares) / args.steps * 1e3:.1f} ms/step")
    rows = [{"name": f"{args.steps}-step PGD, fastMRI U-Net chans {args.chans}, {args.size}² ({device})",
             "value": round(whole, 2), "unit": "s", "goal": "≤ 2 (H200)" if gpu else "",
             "note": f"step loop {statistics.median(loops):.2f} s, the rest the final evaluation"},
            {"name": f"step-loop overhead, fastMRI U-Net chans {args.chans}, {args.size}² ({device})",
             "value": round(ratio, 3), "unit": "× bare", "goal": "≤ 1.10" if gpu else "", "note": ""}]
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(rows, out, indent=1)


if __name__ == "__main__":
    main()
