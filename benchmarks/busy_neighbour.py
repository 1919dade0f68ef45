"""Attack speed beside a busy neighbour: torch's default thread count against the engine's choice.

Each case runs in a fresh child process (its own thread pool): a short attack loop (forward, loss, backward,
update, as in ``attack_overhead.py``'s bare loop) on the built-in U-Net at 128², timed per step after one warm-up
step. The cases: an idle machine with torch's default thread count (one per logical CPU) and with the engine's
choice (:func:`halluview.core.threads.use_chosen`); then beside a neighbour process that spins on one core, with
torch's default, the default under ``OMP_WAIT_POLICY=PASSIVE``, the engine's choice (it reads ``/proc/stat``, so
it should see the neighbour) and one thread. The children do not inherit ``OMP_NUM_THREADS`` or
``OMP_WAIT_POLICY`` (``choose_threads`` honours the former). Nothing is asserted.

    python benchmarks/busy_neighbour.py [--steps 10] [--size 128] [--recon unet-mri-4x] [--quick] [--json F]
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time

NEIGHBOUR_START_S = 0.5
"""How long the neighbour spins before a child starts, so that ``/proc/stat`` sees it."""
CHILD_TIMEOUT_S = 600
SPIN = "import os\nparent = os.getppid()\nwhile os.getppid() == parent:\n    pass\n"
"""The neighbour: spins on one core until killed, or until this benchmark is gone (it then has a new parent)."""
GOAL = 2.0
BACKGROUND_WINDOW_S = 0.3
"""How long other processes' load is measured before each case (it is reported, not subtracted)."""

# label, thread mode, neighbour, extra environment for the child
CASES = (
    ("idle, torch default", "default", False, {}),
    ("idle, engine's choice", "chosen", False, {}),
    ("busy neighbour, torch default", "default", True, {}),
    ("busy neighbour, torch default, OMP_WAIT_POLICY=PASSIVE", "default", True, {"OMP_WAIT_POLICY": "PASSIVE"}),
    ("busy neighbour, engine's choice", "chosen", True, {}),
    ("busy neighbour, 1 thread", "1", True, {}),
)


def child(mode: str, size: int, recon: str, steps: int) -> None:
    """One case, in this process: set the threads, build the problem, time the steps, print one JSON line."""
    import torch

    from halluview.core.threads import set_threads, threads_reason, use_chosen

    if mode == "chosen":
        use_chosen()  # first, before this process adds load of its own
    elif mode != "default":
        set_threads(int(mode), "set by the benchmark")
    threads = torch.get_num_threads()
    reason = threads_reason(threads)
    if not reason.startswith(f"{threads} thread"):
        reason = f"{threads} thread{'s' * (threads != 1)}: {reason}"

    from halluview.core.experiment import Experiment, SourceConfig
    from halluview.core.problem import build_problem
    from halluview.core.recon.factory import ReconConfig

    torch.manual_seed(0)
    experiment = Experiment(source=SourceConfig(demo="brain", image_size=size), recon=ReconConfig(name=recon),
                            device="cpu", seed=0,
                            region={"kind": "rect", "xywh": [size // 3, size // 3, size // 6, size // 6]})
    problem = build_problem(experiment)
    delta = problem.threat.zeros()
    times = []
    for _ in range(steps + 1):  # the first is the warm-up
        started = time.perf_counter()
        delta.requires_grad_(True)
        value = ((problem.recon(problem.y + delta) - problem.clean) ** 2).sum()
        grad, = torch.autograd.grad(value, delta)
        delta = (delta.detach() + 1e-6 * grad).detach()
        times.append(time.perf_counter() - started)
    print(json.dumps({"ms": statistics.median(times[1:]) * 1e3, "threads": threads, "reason": reason}))


def child_env(extra: dict) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY")}
    return {**env, **extra}


def background_load() -> float | None:
    """The cores other processes keep busy now (before a case; None where ``/proc/stat`` cannot be read)."""
    from halluview.core.threads import Readers, busy_elsewhere

    readers = Readers()
    return busy_elsewhere(readers, readers.cpus(), BACKGROUND_WINDOW_S)


def run_case(mode: str, neighbour: bool, extra: dict, args) -> dict:
    """One case in a fresh child, beside a spinning neighbour when asked; both are gone when this returns."""
    background = background_load()
    command = [sys.executable, os.path.abspath(__file__), "--child", mode, "--size", str(args.size),
               "--recon", args.recon, "--steps", str(args.steps)]
    spinner = None
    try:
        if neighbour:
            spinner = subprocess.Popen([sys.executable, "-c", SPIN], stdin=subprocess.DEVNULL,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(NEIGHBOUR_START_S)
        done = subprocess.run(command, capture_output=True, text=True, env=child_env(extra),
                              timeout=CHILD_TIMEOUT_S)  # run() kills the child on a timeout or any error
    finally:
        if spinner is not None:
            spinner.kill()
            spinner.wait()
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"child {mode} (neighbour {neighbour}) failed ({done.returncode}): {tail}")
    return {**json.loads(lines[-1]), "background": background}


def loaded(result: dict) -> str:
    return "?" if result["background"] is None else f"{result['background']:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--recon", default="unet-mri-4x")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 3 steps per case")
    parser.add_argument("--json", help="also write the rows here, for benchmarks/run_all.py")
    parser.add_argument("--child", help=argparse.SUPPRESS)  # internal: run one case (default, chosen or N)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.size, args.recon, args.steps)
        return
    if args.quick:
        args.steps = 3
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a terminated run still ends its children
    logical = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"{args.recon} {args.size}², {args.steps} steps per case (+1 warm-up), CPU, {logical} logical CPUs; "
          f"neighbour: one Python process spinning")
    results = {}
    for label, mode, neighbour, extra in CASES:
        results[label] = run_case(mode, neighbour, extra, args)
    idle = results["idle, torch default"]["ms"]
    print(f"{'case':56s} {'ms/step':>8s} {'× idle':>6s} {'before':>6s}  threads and reason")
    for label, r in results.items():
        print(f"{label:56s} {r['ms']:8.1f} {r['ms'] / idle:6.2f} {loaded(r):>6s}  {r['reason']}")
    print("(before: cores other processes kept busy just before the case, its neighbour not yet started)")
    rows = [{"name": f"{label}, {args.recon} {args.size}²", "value": round(r["ms"], 1), "unit": "ms/step",
             "goal": "", "note": f"{r['reason']}; others' load before: {loaded(r)} cores"}
            for label, r in results.items()]
    default, chosen = results["busy neighbour, torch default"], results["busy neighbour, engine's choice"]
    passive = results["busy neighbour, torch default, OMP_WAIT_POLICY=PASSIVE"]
    ratios = (("slowdown with a busy neighbour, torch default", default["ms"] / idle,
               f"with OMP_WAIT_POLICY=PASSIVE {passive['ms'] / idle:.2f}×"),
              ("slowdown with a busy neighbour, engine's choice", chosen["ms"] / idle,
               f"{chosen['reason']}; idle: {results['idle, torch default']['reason']}"))
    for name, value, note in ratios:
        print(f"{name}: {value:.2f}× (goal: no collapse, ≤ {GOAL:g}×); {note}")
        rows.append({"name": name, "value": round(value, 2), "unit": "× idle, torch default",
                     "goal": f"no collapse (≤ {GOAL:g}×)", "note": note})
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(rows, out, indent=1)


if __name__ == "__main__":
    main()
