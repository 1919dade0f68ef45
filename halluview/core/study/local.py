"""Running a study: its cells grouped into tasks (:mod:`.tasks`), run here one after another, in ``jobs`` local
processes, or on a Ray cluster (:mod:`.ray_engine`), into a resumable tidy table.

Finished cells are skipped on a rerun (by key); the table is rewritten atomically after every task, so an
interrupted study loses at most the tasks that were running; a failed cell is recorded with its error.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from .grid import Cell, StudyConfig, cells
from .table import TABLE, read_table, write_parquet, write_table
from .tasks import StudyCancelled, Task, run_task, tasks_of

__all__ = ["ENGINES", "TABLE", "read_table", "run_study", "study_cells"]
ENGINES = ("local", "ray")


def study_cells(config: StudyConfig) -> list[Cell]:
    """The study's grid, reading each scan once (for its slice count and facts); a scan that cannot be read is an
    ExperimentError naming it, before anything is written."""
    from ..errors import ExperimentError
    from ..experiment import ScanFacts
    from ..io import ScanReadError
    from .tasks import load_scan

    def facts_of(source: dict) -> ScanFacts:
        try:
            return ScanFacts.of(load_scan(source))
        except (ScanReadError, OSError) as err:  # before any cell runs: the study cannot start
            raise ExperimentError(str(err)) from None

    return cells(config, facts_of)


def _serial(tasks: list[Task], on_done, should_stop, threads: int | None) -> None:
    for task in tasks:
        on_done(task, run_task(task, should_stop, threads))


def _pool(tasks: list[Task], on_done, should_stop, jobs: int, threads: int | None) -> None:
    """``jobs`` worker processes (spawned: torch and fork do not mix), each with ``threads`` or its share of the
    threads :func:`~halluview.core.threads.choose_threads` finds for this machine now."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    from ..threads import choose_threads

    threads = threads or max(1, choose_threads().threads // jobs)
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        running = {pool.submit(run_task, task, None, threads): task for task in tasks}
        try:
            while running:
                finished, _ = wait(running, timeout=0.5, return_when=FIRST_COMPLETED)
                for future in finished:
                    on_done(running.pop(future), future.result())
                if should_stop is not None and should_stop():
                    raise StudyCancelled()
        except BaseException:
            for future in running:
                future.cancel()
            raise


def run_study(config: StudyConfig, folder: str | Path, resume: bool = True,
              on_cell: Callable[[int, int, Cell, str, list], None] | None = None, *, engine: str = "local",
              jobs: int = 1, should_stop: Callable[[], bool] | None = None, threads: int | None = None,
              address: str | None = None) -> list[dict]:
    """Run every cell not already done in ``folder``'s table; returns all rows (those so far when stopped).

    ``on_cell(index, total, cell, status, rows)`` reports each cell ("skipped", "done" or "failed") with the
    whole table so far. ``should_stop()`` is polled between steps: when it returns True the running cells are
    dropped and the study stops. ``engine`` "local" runs ``jobs`` tasks at once; "ray" runs them on the Ray
    cluster at ``address`` (or a local one). ``threads``: torch threads per task (the numbers depend on it;
    default: the caller's count for one job, else each job's share of the free physical cores)."""
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, not {engine!r}")
    grid = study_cells(config)
    rows = [r for r in read_table(folder) if r.get("status") == "done"] if resume else []
    done = {r["key"] for r in rows}
    counter = iter(range(len(grid)))
    for cell in grid:
        if cell.key in done and on_cell is not None:
            on_cell(next(counter), len(grid), cell, "skipped", rows)

    def on_done(task: Task, new_rows: list[dict]) -> None:
        rows.extend(new_rows)
        write_table(folder, rows)
        for cell in task.cells:
            status = next((r["status"] for r in new_rows if r["key"] == cell.key), "failed")
            if on_cell is not None:
                on_cell(next(counter), len(grid), cell, status, rows)

    work = tasks_of(grid, done, config.schedule)
    try:
        if engine == "ray":
            from .ray_engine import run_tasks_ray

            run_tasks_ray(work, on_done, should_stop, address=address, threads=threads or 1)
        elif jobs > 1:
            _pool(work, on_done, should_stop, jobs, threads)
        else:
            _serial(work, on_done, should_stop, threads)
    except StudyCancelled:
        pass
    if rows:
        write_parquet(folder, rows)
    return rows
