"""Peak memory of attacks: a whole attack through the engine against one bare forward + backward of the same model
(goal: ≤ 1.5×), for the built-in U-Net, and the full fastMRI E2E-VarNet (12 cascades, chans 18, random weights) on
a 15-coil 640×368 slice attacked through the engine, with its step time and whether it checkpointed.

    python benchmarks/attack_memory.py [--steps 20] [--sizes 128 320] [--varnet-steps 2]
        [--varnet-modes auto on] [--device auto] [--json rows.json] [--quick]

Each measurement runs in a fresh process, so peaks do not mix. The peak is what the measured work adds to the
memory in use just before it: on the CPU the ru_maxrss increase over the RSS (peak reset through
/proc/self/clear_refs, free heap handed back with malloc_trim first); on CUDA torch.cuda.max_memory_allocated over
memory_allocated. The U-Net's bare step and attack each run once, short, before they are measured (imports and
first-call buffers belong to the process; a fresh process's first attack imports scikit-image for the clinical
metrics, +18 MiB of RSS). ``--quick`` runs tiny sizes (64², 4 coils, 2 cascades) in seconds; nothing is asserted.
"""
from __future__ import annotations

import argparse
import ctypes
import gc
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np
import torch

from halluview.core.attacks.objectives import Objective, ObjectiveConfig
from halluview.core.attacks.optimizers import OptimizerConfig
from halluview.core.attacks.run import AttackProblem, run_to_end
from halluview.core.attacks.threat import Threat, ThreatConfig
from halluview.core.experiment import Experiment, SourceConfig
from halluview.core.phantoms import brain_phantom
from halluview.core.physics.mri import build_mri_operator
from halluview.core.problem import build_problem, resolve_device
from halluview.core.recon.factory import ReconConfig
from halluview.core.recon.learned import VarNetReconstruction
from halluview.core.recon.varnet import VarNet, available_memory_bytes, varnet_activation_bytes

MIB, GIB = 2 ** 20, 2 ** 30
FULL_VARNET = {"num_cascades": 12, "chans": 18, "pools": 4, "sens_chans": 8, "sens_pools": 4}
QUICK_VARNET = {"num_cascades": 2, "chans": 4, "pools": 2, "sens_chans": 4, "sens_pools": 2}


# --- measuring (in the child process) -------------------------------------------------------------------------

def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _start_peak(device: torch.device) -> tuple[int, bool]:
    """Memory in use now, after resetting the peak: (bytes, whether the peak could be reset)."""
    gc.collect()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        return torch.cuda.memory_allocated(device), True
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)  # freed heap would otherwise hide part of the new peak
    except (OSError, AttributeError):
        pass
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")  # resets VmHWM, and with it ru_maxrss, to the current RSS
        reset = True
    except OSError:
        reset = False
    return _rss_bytes(), reset


def measure(work, device: torch.device) -> dict:
    """Run ``work()``: its peak memory over the memory in use just before, its seconds, and what it returned."""
    before, reset = _start_peak(device)
    started = time.perf_counter()
    returned = work()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        peak = torch.cuda.max_memory_allocated(device) - before
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before
    return {"peak_bytes": int(peak), "seconds": time.perf_counter() - started, "peak_reset": reset,
            "returned": returned}


def bare_step(problem: AttackProblem) -> None:
    """The floor: one forward, loss and backward with respect to the measurement, nothing else."""
    delta = problem.threat.zeros().requires_grad_(True)
    value = ((problem.recon(problem.y + delta) - problem.clean) ** 2).sum()
    torch.autograd.grad(value, delta)


def attack(problem: AttackProblem) -> dict:
    """The whole attack through the engine, and its seconds per gradient step from the engine's own step clock.

    N steps evaluate δ₀ … δ_N, all but δ_N with a gradient, and record step k at the end of δ_k's evaluation:
    with N ≥ 3 the mean over δ₂ … δ_{N−1} (warmed up), with N = 2 half of step 1 (δ₀ and δ₁, the first calls'
    one-off costs included)."""
    result = run_to_end(problem)
    elapsed = {record["step"]: record["elapsed_s"] for record in result.history}
    steps = problem.optimizer.steps
    if steps >= 3:
        return {"step_seconds": (elapsed[steps - 1] - elapsed[1]) / (steps - 2)}
    return {"step_seconds": elapsed[1] / 2}


def unet_problem(size: int, steps: int, device: str) -> AttackProblem:
    """The built-in U-Net on the demo brain at ``size``², as the app builds it (clean and one gradient checked)."""
    experiment = Experiment(source=SourceConfig(demo="brain", image_size=size), recon=ReconConfig(name="unet-mri-4x"),
                            device=device, optimizer=OptimizerConfig(steps=steps))
    return build_problem(experiment)


def varnet_problem(spec: dict) -> AttackProblem:
    """A seeded random-weight E2E-VarNet on a brain phantom in a ``rows`` × ``columns`` field of view (the
    phantom fills the central columns² square, the rest of the rows is empty readout oversampling, as in fastMRI),
    ``coils`` simulated coils, fastMRI's ``mask_type`` column mask at 4×; built by hand (no clean-image checks)."""
    coils, rows, columns = spec["coils"], spec["rows"], spec["columns"]
    device = resolve_device(spec["device"])
    image = np.zeros((rows, columns), np.float32)
    top = (rows - columns) // 2
    image[top:top + columns] = brain_phantom(columns)
    op = build_mri_operator((rows, columns), 4.0, 0.08, spec["mask_type"], coils, seed=0).to(device)
    x = torch.from_numpy(image)[None].to(device)
    torch.manual_seed(0)
    recon = VarNetReconstruction(op, VarNet(**spec["varnet"], checkpointing=spec["checkpointing"])).to(device)
    for parameter in recon.parameters():
        parameter.requires_grad_(False)
    recon.eval()
    with torch.no_grad():
        y = op(x)
        clean = recon(y)
    threat = Threat(ThreatConfig(), y, op.measurement_mask(y))
    return AttackProblem(op=op, recon=recon, y=y, clean=clean, threat=threat,
                         objective=Objective(ObjectiveConfig(), clean), optimizer=OptimizerConfig(steps=spec["steps"]),
                         x_true=x, reference=x)


def warm_up(problem: AttackProblem, work) -> None:
    """One short run of ``work`` before the measured one: the modules it imports and the kernels' first-call
    buffers are the process's, not the attack's. The clinical metrics' reference side is made again after."""
    steps = problem.optimizer
    problem.optimizer = OptimizerConfig(steps=2)
    work(problem)
    problem.optimizer = steps
    from halluview.core.attacks import run

    run._references.clear()


def child(spec: dict) -> dict:
    """One measurement, in this (fresh) process: ``spec["model"]`` "unet" or "varnet", ``spec["work"]`` "bare"
    or "attack"."""
    if spec["model"] == "unet":
        problem = unet_problem(spec["size"], spec["steps"], spec["device"])
    else:
        problem = varnet_problem(spec)
    work = bare_step if spec["work"] == "bare" else attack
    if spec["model"] == "unet":  # code loaded first (the clinical metrics import scikit-image: +18 MiB of RSS)
        warm_up(problem, work)
    varnet, decisions = getattr(problem.recon, "varnet", None), []
    if varnet is not None:  # every call's choice: the final, gradient-free evaluation never checkpoints
        decide = varnet.wants_checkpointing
        varnet.wants_checkpointing = lambda kspace: decisions.append(decide(kspace)) or decisions[-1]
    found = measure(lambda: work(problem), problem.y.device)
    found.update(found.pop("returned") or {})
    if varnet is not None:
        found["checkpointed"] = any(decisions)
        found["available_bytes"] = available_memory_bytes(problem.y.device)
    return found


# --- the table (in the parent process) --------------------------------------------------------------------------

def run_child(spec: dict) -> dict:
    """``spec`` measured in a fresh Python process."""
    done = subprocess.run([sys.executable, __file__, "--child", json.dumps(spec)], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"measurement {spec} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def row(name: str, value: float, unit: str, goal: str = "", note: str = "") -> dict:
    return {"name": name, "value": float(f"{value:.4g}"), "unit": unit, "goal": goal, "note": note}


def median_child(spec: dict, repeats: int) -> dict:
    """``spec`` measured in ``repeats`` fresh processes: the run with the median peak (RSS peaks vary by the
    allocator's luck: 1.36× and 1.71× were seen for the same attack at 320²)."""
    runs = sorted((run_child(spec) for _ in range(repeats)), key=lambda found: found["peak_bytes"])
    return runs[len(runs) // 2]


def unet_rows(size: int, steps: int, device: str, repeats: int = 3) -> list[dict]:
    spec = {"model": "unet", "size": size, "steps": steps, "device": device}
    bare, whole = median_child({**spec, "work": "bare"}, repeats), median_child({**spec, "work": "attack"}, repeats)
    name = f"unet-mri-4x {size}²"
    note = "" if bare["peak_reset"] else "peak not reset: includes the setup's"
    return [row(f"{name}: bare forward+backward peak", bare["peak_bytes"] / MIB, "MiB", note=note),
            row(f"{name}: attack ({steps} steps) peak", whole["peak_bytes"] / MIB, "MiB",
                note=f"{whole['step_seconds'] * 1e3:.0f} ms/step"),
            row(f"{name}: attack / bare peak", whole["peak_bytes"] / max(bare["peak_bytes"], 1), "×", "≤ 1.5",
                f"medians of {repeats} fresh processes each")]


def varnet_rows(spec: dict, label: str) -> list[dict]:
    """The E2E-VarNet attacked through the engine with ``spec["checkpointing"]``, and its bare forward+backward."""
    bare, whole = run_child({**spec, "work": "bare"}), run_child({**spec, "work": "attack"})
    mode, unit = spec["checkpointing"], GIB if spec["rows"] >= 256 else MIB
    unit_name = "GiB" if unit == GIB else "MiB"
    chosen = f"checkpointed: {'yes' if whole['checkpointed'] else 'no'}"
    available = whole["available_bytes"]
    note = chosen + ("" if available is None else f" (available {available / GIB:.1f} GiB)")
    return [row(f"{label}, checkpointing {mode}: bare forward+backward peak", bare["peak_bytes"] / unit, unit_name,
                note=f"{bare['seconds']:.1f} s"),
            row(f"{label}, checkpointing {mode}: attack ({spec['steps']} steps) peak", whole["peak_bytes"] / unit,
                unit_name, "≤ 24 GiB" if unit == GIB else "", note),
            row(f"{label}, checkpointing {mode}: attack / bare peak", whole["peak_bytes"] / max(bare["peak_bytes"], 1),
                "×", "≤ 1.5"),
            row(f"{label}, checkpointing {mode}: seconds per gradient step", whole["step_seconds"], "s",
                note=f"whole attack {whole['seconds']:.0f} s")]


def estimate_rows(spec: dict, label: str) -> list[dict]:
    shape, sizes = (1, spec["coils"], spec["rows"], spec["columns"]), spec["varnet"]
    arguments = dict(chans=sizes["chans"], cascades=sizes["num_cascades"], pools=sizes["pools"],
                     sens_chans=sizes["sens_chans"], sens_pools=sizes["sens_pools"])
    return [row(f"{label}: estimated forward+backward peak, {kind}",
                varnet_activation_bytes(shape, checkpointed=checkpointed, **arguments) / GIB, "GiB",
                note="varnet_activation_bytes")
            for kind, checkpointed in (("plain", False), ("checkpointed", True))]


def print_table(rows: list[dict]) -> None:
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        print(f"{r['name']:<{width}}  {r['value']:>9.3f} {r['unit']:<4} {r['goal']:<9} {r['note']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20, help="U-Net attack steps")
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 320], help="U-Net image sizes")
    parser.add_argument("--varnet-steps", type=int, default=2)
    parser.add_argument("--varnet-modes", nargs="*", default=["auto", "on"], choices=["auto", "on", "off"])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--repeats", type=int, default=3, help="fresh processes per U-Net measurement (median)")
    parser.add_argument("--json", help="also write the rows (name, value, unit, goal, note) to this file")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, seconds; nothing asserted")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return
    sizes, steps = ([64], 3) if args.quick else (args.sizes, args.steps)
    spec = {"model": "varnet", "coils": 15, "rows": 640, "columns": 368, "mask_type": "equispaced",
            "varnet": FULL_VARNET, "steps": args.varnet_steps, "device": args.device}
    if args.quick:
        spec.update(coils=4, rows=64, columns=64, varnet=QUICK_VARNET, steps=2)
    label = f"varnet-{spec['varnet']['num_cascades']} {spec['coils']}×{spec['rows']}×{spec['columns']}"
    rows = [r for size in sizes for r in unet_rows(size, steps, args.device, 1 if args.quick else args.repeats)]
    for mode in ["auto"] if args.quick else args.varnet_modes:
        rows += varnet_rows({**spec, "checkpointing": mode}, label)
    rows += estimate_rows(spec, label)
    print_table(rows)
    if args.json:
        with open(args.json, "w") as out:
            json.dump(rows, out, indent=1)


if __name__ == "__main__":
    main()
