"""How a study runs the ε values of one slice and reconstruction: one by one (cold, each the single attack), in one
batch (batched), or one by one from the smaller ε's worst case (warm). Prints, per reconstruction, the wall time of
each schedule (median of --repeats, interleaved) with the speed-up over one by one, and how large a change each
schedule found (‖f(y+δ) − f(y)‖ summed over the ε values, relative to cold).

    python benchmarks/study_schedules.py [--recons unet-mri-4x tv-mri-4x] [--steps 20] [--threads 2] [--device cpu]
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from halluview.core.study.grid import StudyConfig
from halluview.core.study.local import study_cells
from halluview.core.study.tasks import Task, run_task, tasks_of

EPS = (0.0025, 0.005, 0.01, 0.02, 0.025, 0.08)
SCHEDULES = ("cold", "batched", "warm")


def measure(recon: str, steps: int, threads: int, device: str, repeats: int) -> dict:
    config = StudyConfig(recons=(recon,), eps=EPS, choices={"optimizer": {"steps": steps}, "device": device})
    (task,) = tasks_of(study_cells(config), set(), "cold")
    run_task(task, threads=threads)  # warm-up: weights, kernels, caches
    seconds = {s: [] for s in SCHEDULES}
    change = {}
    for _ in range(repeats):
        for schedule in SCHEDULES:
            started = time.perf_counter()
            rows = run_task(Task(task.cells, task.source, schedule), threads=threads)
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            seconds[schedule].append(time.perf_counter() - started)
            change[schedule] = sum(r["change_l2"] for r in rows if r["kind"] == "attack")
    return {s: (statistics.median(seconds[s]), change[s]) for s in SCHEDULES}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recons", nargs="+", default=["unet-mri-4x", "varnet-mri-4x-4coil", "tv-mri-4x"])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"{len(EPS)} ε values × {args.steps} steps, brain phantom 128×128, {args.device}, {args.threads} threads")
    print(f"{'reconstruction':22s} {'cold s':>8s} {'batched s':>10s} {'speed-up':>9s} {'warm s':>8s} "
          f"{'change: batched/cold':>21s} {'warm/cold':>10s}")
    for recon in args.recons:
        result = measure(recon, args.steps, args.threads, args.device, args.repeats)
        (cold, c_cold), (batched, c_batched), (warm, c_warm) = (result[s] for s in SCHEDULES)
        print(f"{recon:22s} {cold:8.2f} {batched:10.2f} {cold / batched:8.2f}× {warm:8.2f} "
              f"{c_batched / c_cold:21.3f} {c_warm / c_cold:10.3f}")


if __name__ == "__main__":
    main()
