"""How many torch threads to compute with: the physical cores this process may use, less one for the app's
interface, less the cores other processes keep busy.

torch's default, one thread per logical CPU, is fine on an idle machine and ruinous beside a busy process: a
parallel region waits for its slowest thread, and a thread that shares its core with another process runs at
half speed or worse (``benchmarks/busy_neighbour.py`` measures it). The load of other processes is measured once,
over a short window, from ``/proc/stat`` (Linux; elsewhere it is not measured). A core counts as busy when other
processes kept it busy for at least half the window (:data:`BUSY_FRACTION`): less is taken for a passing burst
(a shell, a kernel thread) rather than a neighbour that will fight every step of an attack.

``OMP_NUM_THREADS`` in the environment is the user's own choice and is kept. :func:`set_threads` applies a count
and remembers why, so that :func:`threads_reason` can say it in every report.
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

BUSY_FRACTION = 0.5
"""The share of the window other processes must keep a core busy for it to count as busy."""
WINDOW_S = 0.15
"""How long the load of other processes is measured, in seconds."""
_TOPOLOGY = Path("/sys/devices/system/cpu")
_BUSY_FIELDS = (0, 1, 2, 5, 6, 7)  # user nice system irq softirq steal; idle and iowait are 3, 4
_last: tuple[int, str] | None = None  # the count set by set_threads, and why
_measured = None  # a ThreadChoice measured in the background, not yet applied


@dataclass(frozen=True)
class ThreadChoice:
    """A thread count and how it was reached.

    Attributes
    ----------
    threads : int
        torch's intra-op thread count to use (at least 1).
    physical_cores : int
        Physical cores this process may run on.
    busy_cores : int
        Cores other processes kept busy while measured (0 when not measured).
    reason : str
        The choice in plain words, for reports.
    """

    threads: int
    physical_cores: int
    busy_cores: int
    reason: str


def _affinity() -> set[int]:
    if hasattr(os, "sched_getaffinity"):
        return set(os.sched_getaffinity(0))
    return set(range(os.cpu_count() or 1))


def _topology(cpu: int) -> tuple[str, str] | None:
    """(physical package, core) of logical CPU ``cpu``, or None where the system does not say."""
    folder = _TOPOLOGY / f"cpu{cpu}" / "topology"
    try:
        return ((folder / "physical_package_id").read_text().strip(), (folder / "core_id").read_text().strip())
    except OSError:
        return None


def _proc_stat() -> str | None:
    try:
        return Path("/proc/stat").read_text()
    except OSError:
        return None


@dataclass
class Readers:
    """Where :func:`choose_threads` reads the machine from (tests give fakes).

    ``proc_stat`` returns ``/proc/stat``'s text or None where there is none; ``own_cpu_s`` this process's CPU
    time in seconds (all its threads); ``tick_s`` the unit of ``/proc/stat``.
    """

    cpus: Callable[[], set[int]] = _affinity
    topology: Callable[[int], tuple[str, str] | None] = _topology
    proc_stat: Callable[[], str | None] = _proc_stat
    own_cpu_s: Callable[[], float] = time.process_time
    sleep: Callable[[float], None] = time.sleep
    tick_s: float = field(default_factory=lambda: 1.0 / os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf")
                          else 0.01)
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)


def physical_cores(cpus: set[int], topology: Callable[[int], tuple[str, str] | None]) -> int:
    """The physical cores among logical ``cpus`` (SMT siblings share one); each CPU whose topology is unknown
    counts as a core of its own."""
    cores = set()
    for cpu in cpus:
        place = topology(cpu)
        cores.add(("cpu", str(cpu)) if place is None else place)
    return max(1, len(cores))


def cpu_ticks(stat: str, cpus: set[int]) -> dict[int, tuple[int, int]]:
    """(busy, total) clock ticks of each of ``cpus`` from ``/proc/stat``'s text (guest time is already in user
    time, so it is left out of the total)."""
    ticks = {}
    for line in stat.splitlines():
        name, *values = line.split()
        if not name.startswith("cpu") or name == "cpu" or int(name[3:]) not in cpus:
            continue
        numbers = [int(v) for v in values[:8]]
        ticks[int(name[3:])] = (sum(numbers[i] for i in _BUSY_FIELDS if i < len(numbers)), sum(numbers))
    return ticks


def busy_elsewhere(readers: Readers, cpus: set[int], window_s: float = WINDOW_S) -> float | None:
    """How many of ``cpus`` other processes kept busy over ``window_s`` (in cores, this process's own CPU time
    taken off), or None where ``/proc/stat`` cannot be read."""
    before, own_before = readers.proc_stat(), readers.own_cpu_s()
    if before is None:
        return None
    readers.sleep(window_s)
    after, own_after = readers.proc_stat(), readers.own_cpu_s()
    if after is None:
        return None
    start, end = cpu_ticks(before, cpus), cpu_ticks(after, cpus)
    busy = totals = 0.0
    for cpu in start.keys() & end.keys():
        busy += end[cpu][0] - start[cpu][0]
        totals += end[cpu][1] - start[cpu][1]
    if totals <= 0:
        return None
    elapsed_s = totals / len(start.keys() & end.keys()) * readers.tick_s  # wall time, as the CPUs counted it
    own_cores = (own_after - own_before) / elapsed_s
    return max(0.0, busy * readers.tick_s / elapsed_s - own_cores)


def _from_environment(environ: Mapping[str, str], cores: int) -> ThreadChoice | None:
    value = environ.get("OMP_NUM_THREADS", "").strip()
    if value.isdigit() and int(value) >= 1:
        return ThreadChoice(int(value), cores, 0, f"OMP_NUM_THREADS={int(value)} set in the environment")
    return None


def choose_threads(leave_for_interface: bool = False, readers: Readers | None = None,
                   measure_load: bool = True) -> ThreadChoice:
    """The thread count for torch on this machine now.

    Parameters
    ----------
    leave_for_interface : bool
        Keep one core free for the app's window (never below one thread).
    readers : Readers, optional
        Where the machine is read from (default: this process's affinity, sysfs and ``/proc``).
    measure_load : bool
        Measure other processes' load (:data:`WINDOW_S` of waiting); False: the cores alone, at once.

    Returns
    -------
    ThreadChoice
        The count, the cores it came from and the reason in words.
    """
    readers = readers or Readers()
    cpus = readers.cpus()
    cores = physical_cores(cpus, readers.topology)
    chosen = _from_environment(readers.environ, cores)
    if chosen is not None:
        return chosen
    words = [f"{cores} physical core{'s' * (cores != 1)}"]
    threads = cores
    if leave_for_interface and cores > 1:
        threads -= 1
        words.append("one left to the interface")
    load = busy_elsewhere(readers, cpus) if measure_load else None
    busy = 0 if load is None else math.floor(load + 1 - BUSY_FRACTION)  # 0.5 busy: one core, 0.49: none
    if load is None:
        words.append("others' load not measured")
    elif busy:
        words.append(f"{busy} kept busy by other processes")
    threads = max(1, threads - busy)
    return ThreadChoice(threads, cores, busy, f"{threads} thread{'s' * (threads != 1)}: " + ", ".join(words))


def set_threads(threads: int, reason: str) -> int:
    """Make torch compute with ``threads`` threads (at least 1) and remember ``reason`` for the reports."""
    import torch

    global _last
    torch.set_num_threads(threads)
    _last = (torch.get_num_threads(), reason)
    return _last[0]


def use_chosen(leave_for_interface: bool = False, readers: Readers | None = None,
               measure_load: bool = True) -> ThreadChoice:
    """:func:`choose_threads` (same parameters), applied with :func:`set_threads`."""
    choice = choose_threads(leave_for_interface, readers, measure_load)
    set_threads(choice.threads, choice.reason)
    return choice


def threads_reason(threads: int) -> str:
    """Why torch computes with ``threads`` threads, in words (the reason given to :func:`set_threads` when the
    count is still the one it set)."""
    if _last is not None and _last[0] == threads:
        return _last[1]
    if _last is None:
        return "torch's default"
    return "set directly in torch"


def measure_in_background(leave_for_interface: bool = False) -> None:
    """Measure other processes' load beside whatever starts now (:data:`WINDOW_S` of waiting, in a daemon thread);
    the choice waits for :func:`apply_measured` in the thread that computes next (torch's thread count is not set
    from a thread that is not computing)."""
    import threading

    def measure() -> None:
        global _measured
        _measured = choose_threads(leave_for_interface)

    threading.Thread(target=measure, name="halluview-threads", daemon=True).start()


def apply_measured() -> ThreadChoice | None:
    """Apply the choice :func:`measure_in_background` made, once, in the calling thread; None when there is none
    (not measured yet, or already applied)."""
    global _measured
    choice, _measured = _measured, None
    if choice is not None:
        set_threads(choice.threads, choice.reason)
    return choice
