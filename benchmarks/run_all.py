"""Every benchmark in one go, each in its own process, into one table (Markdown) headed by the machine it ran on.

    python benchmarks/run_all.py [--quick] [--out benchmarks/results.md] [--device cpu|cuda] [--only NAME ...]

``--quick`` is a smoke run (tiny sizes, a step or two; a few minutes on 2 cores): it proves every benchmark still
runs, and its numbers mean nothing. CI runs it; no benchmark asserts a time. A benchmark that fails is one row
saying so, and the exit code is 1.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

# name, script, extra arguments for a full run (the scripts' defaults are the measured settings)
BENCHMARKS = (
    ("overhead", "attack_overhead.py", ()),
    ("gpu", "gpu_attack.py", ()),
    ("study", "study_throughput.py", ()),
    ("batches", "batch_speedup.py", ()),
    ("memory", "attack_memory.py", ()),
    ("threads", "busy_neighbour.py", ()),
    ("acceleration", "acceleration.py", ()),
    ("window", "gui_responsiveness.py", ()),
)
DEVICE_AWARE = {"overhead", "gpu", "memory", "acceleration"}  # take --device
ON_CPU = {"gpu": ("--steps", "20", "--repeats", "1")}  # the GPU figure on a CPU: a shorter run, for the record


def machine(device: str) -> str:
    """One line: CPU model and cores (or the GPU), torch and Python versions."""
    import torch

    from halluview.core.environment import run_environment

    facts = run_environment("cuda" if device == "cuda" and torch.cuda.is_available() else "cpu")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (f"{facts['device_name']} ({facts['device_type']}), {cores} logical CPUs, torch {facts['torch']}, "
            f"Python {platform.python_version()}, {platform.system()}")


def run_one(name: str, script: str, extra: tuple, args, folder: Path) -> tuple[list[dict], str, float]:
    """The rows one benchmark wrote, its output, and its seconds; a failure is one row saying so."""
    rows_file = folder / f"{name}.json"
    command = [sys.executable, str(HERE / script), "--json", str(rows_file), *extra]
    if args.quick:
        command.append("--quick")
    elif args.device != "cuda":
        command += ON_CPU.get(name, ())
    if args.device and name in DEVICE_AWARE:
        command += ["--device", args.device]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    seconds = time.perf_counter() - started
    output = done.stdout + done.stderr
    if done.returncode != 0 or not rows_file.exists():
        last = (output.strip().splitlines() or ["no output"])[-1]
        return [{"name": f"{script}", "value": "failed", "unit": "", "goal": "", "note": last[:200]}], output, seconds
    return json.loads(rows_file.read_text(encoding="utf-8")), output, seconds


def table(rows_by_benchmark: dict, header: str) -> str:
    lines = [header, "", "| benchmark | measured | value | goal | note |", "|---|---|---|---|---|"]
    def cell(text) -> str:
        return str(text).replace("|", "\\|")  # a pipe inside a cell (|Δ|) would end it

    for name, rows in rows_by_benchmark.items():
        for row in rows:
            number = row["value"]
            shown = f"{number:.4g}" if isinstance(number, float) else number
            value = f"{shown} {row['unit']}".strip()
            lines.append(f"| {name} | {cell(row['name'])} | {cell(value)} | {cell(row.get('goal', ''))} | "
                         f"{cell(row.get('note', ''))} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: every benchmark, tiny, no meaning")
    parser.add_argument("--out", default=None, help="the table (default: benchmarks/results.md, or "
                                                    "results-quick.md in the temporary folder with --quick)")
    parser.add_argument("--device", choices=("cpu", "cuda"), default=None)
    parser.add_argument("--only", nargs="+", help="these benchmarks only (names: "
                                                  + ", ".join(n for n, _, _ in BENCHMARKS) + ")")
    args = parser.parse_args()
    chosen = [b for b in BENCHMARKS if not args.only or b[0] in args.only]
    results, failed = {}, False
    with tempfile.TemporaryDirectory() as folder:
        for name, script, extra in chosen:
            rows, output, seconds = run_one(name, script, extra, args, Path(folder))
            failed |= any(row["value"] == "failed" for row in rows)
            results[name] = rows
            print(f"== {name} ({script}, {seconds:.0f} s)\n{output.rstrip()}", flush=True)
    mode = "smoke run (--quick): the numbers mean nothing" if args.quick else "full run"
    header = (f"Measured {time.strftime('%Y-%m-%d')} on {machine(args.device or 'cpu')}; {mode}.\n"
              f"Command: `python benchmarks/run_all.py{' --quick' if args.quick else ''}"
              f"{' --device ' + args.device if args.device else ''}`.")
    text = table(results, header)
    out = Path(args.out) if args.out else (Path(tempfile.gettempdir()) / "results-quick.md" if args.quick
                                           else HERE / "results.md")
    out.write_text(text, encoding="utf-8")
    print(f"\n{text}\nwrote {out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
