"""A study of 6 ε values on one slice, HalluView against a peer's loop, in one run.

The peer (AdvRec, Robustness-CS, robust-nets) runs the ε values one at a time in a plain eager PyTorch loop:
forward, loss, backward, a normalised gradient step, the projection, and PSNR / SSIM of the step on the host
(skimage), every step. HalluView runs the study's ε values as one batch (``schedule: batched``) and still does more
per attack: the final evaluation (equal-norm noise draws, clinical metrics, verdict). Also shown: the peer's loop
without its host metrics (the bare floor of one-at-a-time), and the ceiling of batching on this machine: the
study's forward + backward passes alone, one by one and as one batch.

    python benchmarks/study_throughput.py [--steps 20] [--recon unet-mri-4x] [--repeats 3] [--quick] [--json F]
"""
from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from halluview.core.attacks.batched import lockstep
from halluview.core.attacks.run import drive
from halluview.core.problem import bind, measure, reconstruct
from halluview.core.study.grid import StudyConfig
from halluview.core.study.local import study_cells
from halluview.core.study.tasks import Task, load_scan, run_task, tasks_of

EPS = (0.0025, 0.005, 0.01, 0.02, 0.04, 0.08)
GOAL = 1.5


def peer_attack(problem, steps: int, host_metrics: bool) -> None:
    """One ε, the way a peer's script does it."""
    clean = problem.clean.detach()
    reference = clean[0].cpu().numpy()
    delta = torch.zeros_like(problem.y)
    radius = problem.threat.radius
    for _ in range(steps):
        delta.requires_grad_(True)
        perturbed = problem.recon(problem.y + delta)
        loss = ((perturbed - clean) ** 2).sum()
        grad, = torch.autograd.grad(loss, delta)
        with torch.no_grad():
            delta = delta + 2.5 / steps * radius * grad / grad.norm().clamp_min(1e-30)
            delta = delta * torch.clamp(radius / delta.norm().clamp_min(1e-30), max=1.0)
        if host_metrics:
            image = perturbed.detach()[0].cpu().numpy()
            peak = float(reference.max())
            structural_similarity(reference, image, data_range=peak)
            peak_signal_noise_ratio(reference, image, data_range=peak)


def ascents_alone(problems) -> None:
    """The study's ascents in lockstep as ``run_task`` runs them (live records read as the app reads them), without
    the final evaluations: what the peer's loop does, and no more."""
    generators = [torch.Generator().manual_seed(p.seed) for p in problems]
    drive(lockstep(problems, generators, time.perf_counter()))


def bare_passes(problem, batch: int, count: int) -> None:
    """``count`` bare forward + backward passes of ``batch`` copies of the measurement at once: the ceiling of
    batching on this machine, with no attack around it."""
    y = problem.y.repeat(batch, *[1] * (problem.y.dim() - 1))
    for _ in range(count):
        delta = torch.zeros_like(y, requires_grad=True)
        problem.recon(y + delta).sum().backward()


def timings(recon: str, steps: int, repeats: int) -> dict:
    config = StudyConfig(recons=(recon,), eps=EPS, choices={"optimizer": {"steps": steps}, "device": "cpu"})
    (task,) = tasks_of(study_cells(config), set(), "batched")
    first = task.cells[0].experiment
    shared = reconstruct(first, measure(first, load_scan(task.source)))
    problems = [bind(cell.experiment, shared) for cell in task.cells]  # the study's own problems, one by one
    run_task(task)  # warm-up: weights, kernels, caches
    seconds = {"peer": [], "peer, no host metrics": [], "halluview, batched": [],
               "halluview, batched ascents alone": [], "bare passes, one by one": [], "bare passes, one batch": []}
    for _ in range(repeats):  # interleaved, so drifting machine load hits all alike
        for name, host_metrics in (("peer", True), ("peer, no host metrics", False)):
            started = time.perf_counter()
            for problem in problems:
                peer_attack(problem, steps, host_metrics)
            seconds[name].append(time.perf_counter() - started)
        started = time.perf_counter()
        run_task(Task(task.cells, task.source, "batched"))
        seconds["halluview, batched"].append(time.perf_counter() - started)
        started = time.perf_counter()
        ascents_alone(problems)
        seconds["halluview, batched ascents alone"].append(time.perf_counter() - started)
        started = time.perf_counter()
        bare_passes(problems[0], 1, len(problems) * steps)
        seconds["bare passes, one by one"].append(time.perf_counter() - started)
        started = time.perf_counter()
        bare_passes(problems[0], len(problems), steps)
        seconds["bare passes, one batch"].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in seconds.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--recon", default="unet-mri-4x")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="a smoke run: 2 steps, one repeat")
    parser.add_argument("--json", help="also write the rows here, for benchmarks/run_all.py")
    args = parser.parse_args()
    if args.quick:
        args.steps, args.repeats = 2, 1
    seconds = timings(args.recon, args.steps, args.repeats)
    ours = seconds["halluview, batched"]
    print(f"{len(EPS)} ε values × {args.steps} steps, {args.recon}, brain phantom 128², CPU, "
          f"{torch.get_num_threads()} threads (numpy {np.__version__})")
    for name, value in seconds.items():
        print(f"{name:24s} {value:8.2f} s   {value / ours:5.2f}× HalluView's time")
    rows = [{"name": f"study of {len(EPS)} ε, {args.recon} 128², {args.steps} steps: speed-up over a peer's "
                     "one-at-a-time loop", "value": round(seconds["peer"] / ours, 2), "unit": "×",
             "goal": f"≥ {GOAL}", "note": f"peer {seconds['peer']:.1f} s, HalluView {ours:.1f} s"},
            {"name": "… over the peer's loop without host metrics", "value":
             round(seconds["peer, no host metrics"] / ours, 2), "unit": "×", "goal": "",
             "note": "HalluView's time includes its final evaluations"},
            {"name": "… the ascents alone (lockstep, no final evaluation) over the peer's loop", "value":
             round(seconds["peer"] / seconds["halluview, batched ascents alone"], 2), "unit": "×", "goal": "",
             "note": f"ascents {seconds['halluview, batched ascents alone']:.1f} s; the rest of HalluView's time: "
                     "6 final evaluations (noise draws, clinical metrics, verdict) and the setup"},
            {"name": f"ceiling on this machine: {len(EPS)} × {args.steps} bare forward+backward passes one by one "
                     f"over {args.steps} passes of a batch of {len(EPS)}", "value":
             round(seconds["bare passes, one by one"] / seconds["bare passes, one batch"], 2), "unit": "×",
             "goal": "", "note": "no attack around them: what batching alone can gain here; the study does these "
                                 "passes and its final evaluations"}]
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(rows, out, indent=1)


if __name__ == "__main__":
    main()
