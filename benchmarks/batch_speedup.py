"""Batches against one-by-one runs of the same attacks, in one run: restarts side by side against one after another,
and a volume's slices side by side against one by one (the U-Net at 128², the same seeds, interleaved).

    python benchmarks/batch_speedup.py [--steps 10] [--restarts 4] [--slices 4] [--repeats 2] [--quick] [--json F]

A study's ε values, the third batch, are in study_throughput.py (and study_schedules.py: batched against cold).
"""
from __future__ import annotations

import argparse
import json
import statistics
import time

from halluview.core import volume_attack
from halluview.core.attacks import run
from halluview.core.attacks.optimizers import OptimizerConfig
from halluview.core.attacks.run import drive, run_to_end
from halluview.core.experiment import Experiment, SourceConfig
from halluview.core.problem import build_problem
from halluview.core.recon.factory import ReconConfig
from halluview.core.samples import load_sample

RECON = ReconConfig(name="unet-mri-4x")


def restarts_seconds(problem, side_by_side: bool) -> float:
    """One attack with its restarts side by side (when memory allows, as the engine decides) or forced apart."""
    real = run.items_that_fit
    run.items_that_fit = real if side_by_side else (lambda *args: 1)
    try:
        started = time.perf_counter()
        run_to_end(problem)
        return time.perf_counter() - started
    finally:
        run.items_that_fit = real


def volume_seconds(experiment, scan, slices, side_by_side: bool) -> tuple[float, bool]:
    """A volume attack with its slices side by side (when one reconstruction serves them) or forced one by one."""
    real = volume_attack.stacked
    volume_attack.stacked = real if side_by_side else (lambda problems: None)
    try:
        started = time.perf_counter()
        volume = drive(volume_attack.attack_volume(experiment, scan, slices))
        return time.perf_counter() - started, volume.side_by_side
    finally:
        volume_attack.stacked = real


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--restarts", type=int, default=4)
    parser.add_argument("--slices", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="a smoke run: 2 steps, 2 restarts, 2 slices at 48²")
    parser.add_argument("--json", help="also write the rows here, for benchmarks/run_all.py")
    args = parser.parse_args()
    size = 48 if args.quick else 128
    if args.quick:
        args.steps, args.restarts, args.slices, args.repeats = 2, 2, 2, 1
    problem = build_problem(Experiment(source=SourceConfig(demo="brain", image_size=size), recon=RECON, device="cpu",
                                       optimizer=OptimizerConfig(steps=args.steps, restarts=args.restarts)))
    scan = load_sample("mr-anatomical")
    experiment = Experiment(source=SourceConfig(demo="mr-anatomical", image_size=size), recon=RECON, device="cpu",
                            optimizer=OptimizerConfig(steps=args.steps))
    middle = scan.n_slices // 2
    slices = list(range(middle - args.slices // 2, middle - args.slices // 2 + args.slices))
    restarts_seconds(problem, True)  # warm-up
    times = {"restarts side by side": [], "restarts one after another": [], "slices side by side": [],
             "slices one by one": []}
    batched = True
    for _ in range(args.repeats):  # interleaved, so drifting machine load hits both alike
        times["restarts side by side"].append(restarts_seconds(problem, True))
        times["restarts one after another"].append(restarts_seconds(problem, False))
        seconds, batched = volume_seconds(experiment, scan, slices, True)
        times["slices side by side"].append(seconds)
        times["slices one by one"].append(volume_seconds(experiment, scan, slices, False)[0])
    median = {name: statistics.median(values) for name, values in times.items()}
    restarts = median["restarts one after another"] / median["restarts side by side"]
    volume = median["slices one by one"] / median["slices side by side"]
    print(f"U-Net {size}², {args.steps} steps, CPU: {args.restarts} restarts side by side {restarts:.2f}× faster "
          f"({median['restarts side by side']:.2f} vs {median['restarts one after another']:.2f} s); "
          f"{args.slices} slices of mr-anatomical side by side {volume:.2f}× faster "
          f"({median['slices side by side']:.2f} vs {median['slices one by one']:.2f} s; batched: {batched})")
    rows = [{"name": f"{args.restarts} restarts side by side / one after another, U-Net {size}², {args.steps} steps",
             "value": round(restarts, 2), "unit": "× faster", "goal": "",
             "note": f"{median['restarts side by side']:.2f} s vs {median['restarts one after another']:.2f} s"},
            {"name": f"{args.slices} slices side by side / one by one, U-Net {size}², {args.steps} steps",
             "value": round(volume, 2), "unit": "× faster", "goal": "",
             "note": f"{median['slices side by side']:.2f} s vs {median['slices one by one']:.2f} s; "
                     f"{'side by side' if batched else 'not stackable: one by one both times'}"}]
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(rows, out, indent=1)


if __name__ == "__main__":
    main()
