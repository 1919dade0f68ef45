"""bf16 autocast, channels-last and torch.compile on the attacked network: one attack step's forward + backward
through the built-in U-Net (unet-mri-4x) on the brain phantom at 128² and 320², median milliseconds per mode and
the ratio to fp32 measured in the same run; and what bf16 does to the numbers: ΔSSIM against fp32 (goal |ΔSSIM|
≤ 1e-3) on y + δ (a seeded random δ of 2 % of ‖y‖, against the clean reconstruction, as a run reports it) and on
y against the ground truth. On a CPU without bf16 units, bf16 is expected to be slower: it is reported as measured.

    python benchmarks/acceleration.py [--sizes 128 320] [--steps 5] [--device auto] [--json F] [--quick]
"""
from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from halluview.core import metrics
from halluview.core.attacks.precision import precision_effect
from halluview.core.choices import Choices, experiment_for
from halluview.core.errors import ExperimentError
from halluview.core.problem import build_problem
from halluview.core.recon.acceleration import SSIM_GOAL

MODEL = "unet-mri-4x"
MODES = {"fp32": {}, "bf16": {"precision": "bf16"}, "channels-last": {"channels_last": True},
         "compiled": {"compile": True}, "bf16 + channels-last + compiled": {"precision": "bf16",
                                                                           "channels_last": True, "compile": True}}


def row(name: str, value, unit: str, goal: str = "", note: str = "") -> dict:
    return {"name": name, "value": value, "unit": unit, "goal": goal, "note": note}


def _problem(size: int, compute: dict, device: str):
    choices = Choices(source={"demo": "brain", "image_size": size}, recon={"name": MODEL}, device=device,
                      compute=compute)
    return build_problem(experiment_for(None, choices))


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def step_ms(problem, steps: int, warmup: int) -> float:
    """Median milliseconds of one forward + backward of the attacked network (after ``warmup`` steps)."""
    delta = problem.threat.zeros()
    times = []
    for _ in range(warmup + steps):
        _sync(problem.y.device)
        started = time.perf_counter()
        delta.requires_grad_(True)
        value = ((problem.recon(problem.perturbed_measurement(delta)) - problem.clean) ** 2).sum()
        (grad,) = torch.autograd.grad(value, delta)
        delta = (delta.detach() + 1e-9 * grad).detach()
        _sync(problem.y.device)
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times[warmup:])


def speed_rows(size: int, steps: int, device: str, backend: str) -> list[dict]:
    """ms per step for each mode, and each mode's ratio to fp32."""
    rows, base = [], None
    for mode, compute in MODES.items():
        name = f"{MODEL} {size}² fwd+bwd, {mode}"
        compute = {**compute, "backend": backend} if compute.get("compile") else compute
        try:
            ms = step_ms(_problem(size, compute, device), steps, warmup=3 if "compile" in compute else 1)
        except ExperimentError as err:  # e.g. no C++ compiler for inductor
            rows.append(row(name, "not measured", "", note=str(err)[:200]))
            continue
        base = ms if mode == "fp32" else base
        note = f"torch.compile backend {backend}" if "compile" in compute else ""
        rows.append(row(name, round(ms, 1), "ms", note=note))
        if mode != "fp32" and base:
            rows.append(row(f"{MODEL} {size}², {mode} / fp32", round(ms / base, 2), "×", "< 1 (faster)", note))
    return rows


def bf16_rows(size: int, device: str) -> list[dict]:
    """What bf16 does to SSIM: on y + δ against the clean reconstruction, on y against the ground truth."""
    problem = _problem(size, {"precision": "bf16"}, device)
    generator = torch.Generator().manual_seed(0)
    noise = torch.randn(problem.y.shape, generator=generator, dtype=problem.y.dtype).to(problem.y.device)
    delta = 0.02 * torch.linalg.vector_norm(problem.y) / torch.linalg.vector_norm(noise) * noise
    effect = precision_effect(problem, delta)
    with torch.no_grad():
        fast, exact = problem.recon(problem.y), problem.recon.exact(problem.y)
    truth = problem.x_true
    vs_truth = float(metrics.ssim(fast, truth) - metrics.ssim(exact, truth))
    goal = f"|Δ| ≤ {SSIM_GOAL:g}"
    return [row(f"{MODEL} {size}², bf16 − fp32 SSIM vs clean on y + δ", f"{effect['ssim_difference']:.2e}", "",
                goal, f"δ random, 2 % of ‖y‖; ΔPSNR {effect['psnr_difference_db']:.3f} dB, max |Δ| "
                      f"{effect['max_abs_difference']:.1e}"),
            row(f"{MODEL} {size}², bf16 − fp32 SSIM vs ground truth on y", f"{vs_truth:.2e}", "", goal)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 320])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--backend", default="inductor", help="torch.compile's backend")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 64², 2 steps, backend aot_eager")
    parser.add_argument("--json", help="also write the rows here, for benchmarks/run_all.py")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.steps, args.backend = [64], 2, "aot_eager"
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}")
    rows = []
    for size in args.sizes:
        rows += speed_rows(size, args.steps, args.device, args.backend) + bf16_rows(size, args.device)
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        print(f"{r['name'].ljust(width)}  {r['value']} {r['unit']}  {r['goal']}  {r['note']}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(rows, handle, indent=1)


if __name__ == "__main__":
    main()
