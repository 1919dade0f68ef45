"""Engine overhead: an N-step attack through run_attack (the live table and curve fed as the app feeds them)
against N bare forward + backward passes of the same model on the same input, interleaved in one run.

Two ratios per size: the step loop (until the last step's record reaches the consumer; goal ≤ 1.03) and the whole
attack (with the final evaluation: equal-norm noise draws, clinical metrics, verdict), both over N × bare.

    python benchmarks/attack_overhead.py [--steps 50] [--sizes 128 320] [--recon unet-mri-4x] [--device cpu]
                                         [--quick] [--json rows.json]
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

LOOP_GOAL, GPU_LOOP_GOAL = 1.03, 1.10


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def bare_seconds(problem, steps: int) -> float:
    """The floor, a peer's eager loop without its host metrics: forward, loss, backward, update."""
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


def engine_seconds(problem, steps: int) -> tuple[float, float]:
    """(seconds until the last step's record, seconds for the whole attack), consuming every record."""
    problem.optimizer = OptimizerConfig(steps=steps)
    problem.image_every = 1
    started = time.perf_counter()
    attack, loop = run_attack(problem), None
    while True:
        try:
            step = next(attack)
        except StopIteration:
            return loop, time.perf_counter() - started
        if step.step == step.total:
            loop = time.perf_counter() - started


def measure(size: int, recon: str, steps: int, repeats: int, device: str) -> dict:
    experiment = Experiment(source=SourceConfig(demo="brain", image_size=size), recon=ReconConfig(name=recon),
                            device=device, region={"kind": "rect", "xywh": [size // 3, size // 3, size // 6,
                                                                              size // 6]})
    problem = build_problem(experiment)
    bare_seconds(problem, 2)  # warm-up
    engine_seconds(problem, 2)
    bares, loops, wholes = [], [], []
    for _ in range(repeats):  # interleaved, so drifting machine load hits both alike
        bares.append(bare_seconds(problem, steps))
        loop, whole = engine_seconds(problem, steps)
        loops.append(loop)
        wholes.append(whole)
    bare = statistics.median(bares)
    return {"size": size, "device": str(problem.y.device), "bare_ms": bare / steps * 1e3,
            "loop_ratio": statistics.median(lp / b for lp, b in zip(loops, bares)),
            "best_ratio": min(loops) / min(bares),  # timeit's convention: the least disturbed run of each
            "whole_ratio": statistics.median(w / b for w, b in zip(wholes, bares))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--recon", default="unet-mri-4x")
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 320])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 64², 3 steps, one repeat")
    parser.add_argument("--json", help="also write the rows here, for benchmarks/run_all.py")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.steps, args.repeats = [64], 3, 1
    rows = []
    print(f"recon {args.recon}, {args.steps} steps × {args.repeats} repeats, torch {torch.get_num_threads()} threads")
    for size in args.sizes:
        m = measure(size, args.recon, args.steps, args.repeats, args.device)
        goal = GPU_LOOP_GOAL if m["device"].startswith("cuda") else LOOP_GOAL
        print(f"{size}², {m['device']}: bare {m['bare_ms']:.1f} ms/step; engine loop {m['loop_ratio']:.3f}× "
              f"(goal ≤ {goal}), fastest runs {m['best_ratio']:.3f}×; whole attack with the final evaluation "
              f"{m['whole_ratio']:.3f}×")
        rows += [{"name": f"step-loop overhead, {args.recon} {size}², {args.steps} steps ({m['device']})",
                  "value": round(m["loop_ratio"], 3), "unit": "× bare", "goal": f"≤ {goal}",
                  "note": f"median of {args.repeats} interleaved pairs; fastest engine run / fastest bare run "
                          f"{m['best_ratio']:.3f}; bare {m['bare_ms']:.1f} ms/step"},
                 {"name": f"whole attack incl. final evaluation, {args.recon} {size}², {args.steps} steps",
                  "value": round(m["whole_ratio"], 3), "unit": "× bare", "goal": "",
                  "note": "noise draws, clinical metrics, verdict"}]
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(rows, out, indent=1)


if __name__ == "__main__":
    main()
