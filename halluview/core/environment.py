"""What besides the configuration determines an attack's numbers, recorded with every run so that a rerun can
reproduce them: the device, torch's intra-op thread count (float reductions are split by it), the CPU's vector
instruction set torch dispatches to, and the library versions.

On the CPU, the same configuration, seed, thread count, instruction set and versions give bit-identical numbers;
:func:`reproduction_gaps` says which of these differ between a recorded run and this process, and
:func:`apply_threads` adopts a recorded thread count.
"""
from __future__ import annotations

import platform

import numpy as np
import torch

from .threads import set_threads, threads_reason

# What can change the numbers, as (key, words for a person).
_DETERMINANTS = (("device_type", "device"), ("device_name", "device model"), ("threads", "torch thread count"),
                 ("cpu_capability", "CPU instruction set used by torch"), ("torch", "torch version"),
                 ("numpy", "numpy version"))


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def run_environment(device: torch.device | str) -> dict:
    """The facts of this process that determine a run's numbers on ``device`` (call it in the thread that runs
    the attack: the thread count is per thread for OpenMP). "threads_reason" says in words why the count is what
    it is; unlike the count it does not change the numbers."""
    device = torch.device(device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else _cpu_model()
    threads = torch.get_num_threads()
    return {"device": str(device), "device_type": device.type, "device_name": name,
            "threads": threads, "threads_reason": threads_reason(threads),
            "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "torch": torch.__version__, "numpy": np.__version__, "python": platform.python_version()}


def reproduction_gaps(recorded: dict, current: dict) -> list[str]:
    """What differs between a recorded environment and this one and may change the numbers, in words."""
    gaps = []
    for key, words in _DETERMINANTS:
        if key in recorded and recorded[key] != current.get(key):
            gaps.append(f"{words}: recorded {recorded[key]}, here {current.get(key)}")
    return gaps


def apply_threads(recorded: dict) -> int | None:
    """Use the recorded torch thread count in this thread (more threads than cores is allowed: the numbers depend
    on how reductions are split, not on how many cores run them). Returns the count set, or None."""
    threads = recorded.get("threads")
    if isinstance(threads, int) and threads >= 1:
        return set_threads(threads, f"{threads} as recorded in the report rerun (the numbers depend on it)")
    return None


def largest_difference(recorded, fresh, path: str = "") -> tuple[float, str]:
    """The largest relative difference between two nested structures of numbers, and where it is."""
    if isinstance(recorded, dict) and isinstance(fresh, dict):
        worst = (0.0, "")
        for key in recorded.keys() | fresh.keys():
            if key not in recorded or key not in fresh:
                return float("inf"), f"{path}{key}"
            worst = max(worst, largest_difference(recorded[key], fresh[key], f"{path}{key}."))
        return worst
    if isinstance(recorded, list) and isinstance(fresh, list):
        if len(recorded) != len(fresh):
            return float("inf"), path.rstrip(".")
        return max((largest_difference(a, b, f"{path}{i}.") for i, (a, b) in enumerate(zip(recorded, fresh))),
                   default=(0.0, ""))
    try:
        a, b = float(recorded), float(fresh)
    except (TypeError, ValueError):
        return (0.0, "") if recorded == fresh else (float("inf"), path.rstrip("."))
    if a == b or (np.isnan(a) and np.isnan(b)):
        return 0.0, ""
    return abs(a - b) / max(abs(a), abs(b), 1e-300), path.rstrip(".")


def halluview_version() -> str:
    """The installed HalluView's version ("" when it runs from a tree that is not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("halluview")
    except PackageNotFoundError:
        return ""
