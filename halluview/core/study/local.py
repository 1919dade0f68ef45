"""The local engine: run a study's cells one after another, resumable, writing the tidy table as it goes.

Finished cells are skipped on a rerun (by key); the table is rewritten atomically after every cell, so an
interrupted study loses at most the cell that was running; a failed cell is recorded with its error.
"""
from __future__ import annotations

import csv
import io
import time
from pathlib import Path
from typing import Callable

from ..atomic import write_text_atomic
from .grid import Cell, StudyConfig, cell_rows, cells, failed_rows

TABLE = "study.csv"


def read_table(folder: str | Path) -> list[dict]:
    path = Path(folder) / TABLE
    if not path.is_file():
        return []
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def write_table(folder: str | Path, rows: list[dict]) -> Path:
    columns = list(dict.fromkeys(k for row in rows for k in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, restval="")
    writer.writeheader()
    writer.writerows(rows)
    path = Path(folder) / TABLE
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, buffer.getvalue())
    return path


def run_cell(cell: Cell, scan) -> list[dict]:
    from ..attacks.run import run_to_end
    from ..problem import build_problem

    started = time.perf_counter()
    result = run_to_end(build_problem(cell.experiment, scan))
    return cell_rows(cell, result, time.perf_counter() - started)


def run_study(config: StudyConfig, folder: str | Path, resume: bool = True,
              on_cell: Callable[[int, int, Cell, str], None] | None = None) -> list[dict]:
    """Run every cell not already done in ``folder``'s table; returns all rows. ``on_cell(i, n, cell, status)``
    reports progress ("skipped", "done" or "failed")."""
    from ..errors import ExperimentError
    from ..problem import load_source
    from ..settings import ScanFacts

    scans = {}

    def scan_of(source: dict):
        key = repr(sorted(source.items()))
        if key not in scans:
            from ..experiment import Experiment, SourceConfig

            scans[key] = load_source(Experiment(source=SourceConfig(**source)))
        return scans[key]

    grid = cells(config, lambda source: ScanFacts.of(scan_of(source)))
    rows = [r for r in read_table(folder) if resume and r.get("status") == "done"]
    done = {r["key"] for r in rows}
    for i, cell in enumerate(grid):
        if cell.key in done:
            status = "skipped"
        else:
            try:
                rows += run_cell(cell, scan_of(cell.source))
                status = "done"
            except (ExperimentError, ValueError, RuntimeError, OSError) as err:
                rows += failed_rows(cell, f"{type(err).__name__}: {err}")
                status = "failed"
            write_table(folder, rows)
        if on_cell is not None:
            on_cell(i, len(grid), cell, status)
    return rows
