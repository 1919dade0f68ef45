"""A study's unit of work: the cells that differ only in ε (one scan slice, reconstruction and seed), run together.

They share one measurement and one clean reconstruction, and their attacks run in one of three schedules:

- ``warm`` (the default): one ε after another, smallest first, each starting from the worst case found for the one
  before, scaled to its budget (the balls are nested: the scaled point is feasible and on the boundary; insert and
  remove, whose optimum lies inside, start from it unscaled). The same steps find a larger worst case
  (benchmarks/study_schedules.py). The smallest ε is its single attack exactly.
- ``batched``: every ε in lockstep, one batched forward and backward pass per step
  (:func:`halluview.core.attacks.batched.run_batched`); each cell is its single attack up to rounding (a batch
  picks other kernels). It pays where a batch runs in parallel (a GPU); where the batch does not fit in memory, or a
  reconstruction cannot batch, the task runs ``warm``.
- ``cold``: one after another, each exactly the single attack.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import torch

from .grid import Cell, cell_rows, failed_rows


class StudyCancelled(Exception):
    """Raised inside a task when the study was asked to stop; the running task's cells are not recorded."""


@dataclass(frozen=True)
class Task:
    cells: tuple[Cell, ...]  # ascending ε
    source: dict
    schedule: str = "warm"


def tasks_of(grid: list[Cell], done: set[str], schedule: str = "warm") -> list[Task]:
    """The grid's cells not in ``done``, grouped into tasks (one per scan, slice, reconstruction and seed), in the
    grid's order."""
    groups: dict[tuple, list[Cell]] = {}
    for cell in grid:
        if cell.key not in done:
            labels = cell.labels
            group = (labels["source"], labels["slice"], labels["recon"], labels["seed"], labels.get("analysis"))
            groups.setdefault(group, []).append(cell)
    return [Task(tuple(sorted(group, key=lambda c: c.labels["eps"])), group[0].source, schedule)
            for group in groups.values()]


_SCANS: dict[str, object] = {}


def load_scan(source: dict):
    """The scan a source names, read once per process."""
    from ..experiment import Experiment, SourceConfig
    from ..problem import load_source

    key = repr(sorted(source.items()))
    if key not in _SCANS:
        _SCANS[key] = load_source(Experiment(source=SourceConfig(**source)))
    return _SCANS[key]


def _clean_accuracy(problem) -> dict:
    """The clean reconstruction against the reference, scored as the perturbed ones are."""
    from ..attacks.run import step_metrics

    if problem.reference is None:
        return {}
    return step_metrics(problem, problem.clean)["vs_reference"]


def _problems(task: Task, scan) -> list:
    """Every cell's attack problem, bound to one shared measurement and clean reconstruction."""
    from ..experiment import ScanFacts
    from ..problem import bind, measure, reconstruct

    facts = ScanFacts.of(scan)
    for cell in task.cells:
        cell.experiment.validate()
        cell.experiment.validate(facts)
    first = task.cells[0].experiment
    shared = reconstruct(first, measure(first, scan))
    return [bind(cell.experiment, shared) for cell in task.cells]


def _poll(should_stop: Callable[[], bool] | None):
    def check(_step=None) -> None:
        if should_stop is not None and should_stop():
            raise StudyCancelled()
    return check


def _one_by_one(task: Task, problems: list, check, warm: bool) -> list[dict]:
    from ..attacks.run import run_to_end

    rows, previous = [], None
    for cell, problem in zip(task.cells, problems):
        started = time.perf_counter()
        schedule = "cold"
        if warm and previous is not None:
            eps_before, delta = previous
            scale = 1.0 if problem.objective.interior_optimum else cell.labels["eps"] / eps_before
            climber = problem.surrogate or problem
            climber.warm_start = torch.from_numpy(delta)[None] * scale
            schedule = f"warm from ε={eps_before:g}"
        try:
            result = run_to_end(problem, on_step=check)
        except (ValueError, RuntimeError) as err:
            rows += failed_rows(cell, f"{type(err).__name__}: {err}")
            continue
        previous = (cell.labels["eps"], result.delta)
        rows += cell_rows(cell, result, time.perf_counter() - started, _clean_accuracy(problem), schedule)
    return rows


def _batched(task: Task, problems: list, check) -> list[dict]:
    from ..attacks.batched import run_batched

    started = time.perf_counter()
    results = run_batched(problems, on_step=check)
    share = (time.perf_counter() - started) / len(results)
    schedule = f"batched ×{len(results)}"
    return [row for cell, problem, result in zip(task.cells, problems, results)
            for row in cell_rows(cell, result, share, _clean_accuracy(problem), schedule)]


def run_task(task: Task, should_stop: Callable[[], bool] | None = None, threads: int | None = None) -> list[dict]:
    """The rows of every cell of ``task``. A task that cannot be built records all its cells as failed with the
    reason; a cell that fails one by one records its own. ``should_stop()`` is polled every step
    (:class:`StudyCancelled`). ``threads``: torch's thread count for the task (the numbers depend on it; the
    caller's count is restored after)."""
    from ..threads import set_threads, threads_reason

    before = torch.get_num_threads()
    reason_before = threads_reason(before)
    if threads is not None:
        set_threads(threads, f"{threads} per task, set by the study")
    try:
        return _run(task, _poll(should_stop))
    finally:
        set_threads(before, reason_before)


def _run(task: Task, check) -> list[dict]:
    from ..errors import ExperimentError

    if task.cells[0].analysis is not None:
        return _analysis(task, check)
    try:
        problems = _problems(task, load_scan(task.source))
    except (ExperimentError, ValueError, RuntimeError, OSError) as err:
        return [row for cell in task.cells for row in failed_rows(cell, f"{type(err).__name__}: {err}")]
    if task.schedule == "batched" and len(problems) > 1:
        try:
            return _batched(task, problems, check)
        except (ValueError, RuntimeError):  # out of memory, or a reconstruction that cannot batch: one by one,
            pass  # where each cell records its own failure
    return _one_by_one(task, problems, check, warm=task.schedule != "cold")


def _analysis(task: Task, check) -> list[dict]:
    """An analysis cell (a task of its own); a failure is recorded with its reason."""
    from ..errors import ExperimentError
    from .analysis_cells import run_analysis_cell

    cell = task.cells[0]
    try:
        return run_analysis_cell(cell, load_scan(task.source), check)
    except (ExperimentError, ValueError, RuntimeError, OSError) as err:
        return [{"key": cell.key, **cell.labels, "kind": "analysis", "status": "failed",
                 "error": f"{type(err).__name__}: {err}"}]
