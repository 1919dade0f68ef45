"""The study's tidy table on disk: ``study.csv`` (read back to resume) and ``study.parquet`` (typed columns),
both written atomically, so an interrupted write never leaves half a table."""
from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from ..atomic import atomic_file, write_text_atomic

TABLE = "study.csv"
PARQUET = "study.parquet"


def read_table(folder: str | Path) -> list[dict]:
    """The rows of ``folder``'s study.csv (values as text), or [] when there is none."""
    path = Path(folder) / TABLE
    if not path.is_file():
        return []
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _columns(rows: list[dict]) -> list[str]:
    return list(dict.fromkeys(k for row in rows for k in row))


def write_table(folder: str | Path, rows: list[dict]) -> Path:
    """study.csv: one row per cell and kind (attack, noise); a value a row lacks is empty."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=_columns(rows), restval="")
    writer.writeheader()
    writer.writerows(rows)
    return write_text_atomic(Path(folder) / TABLE, buffer.getvalue())


def _as_number(value) -> float | None:
    if value is None or value == "":
        return math.nan
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def typed_columns(rows: list[dict]) -> dict[str, list]:
    """Column → values: numbers (NaN where missing) for a column whose every value is a number or empty (the
    text read back from study.csv included), text otherwise."""
    columns = {}
    for name in _columns(rows):
        values = [row.get(name, "") for row in rows]
        numbers = [_as_number(v) for v in values]
        text = ["" if v is None else str(v) for v in values]
        is_number = all(n is not None for n in numbers) and any(not math.isnan(n) for n in numbers)
        columns[name] = numbers if is_number and name not in ("key", "source", "recon") else text
    return columns


def write_parquet(folder: str | Path, rows: list[dict]) -> Path:
    """study.parquet: the same table with typed columns (pyarrow)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(folder) / PARQUET
    with atomic_file(path) as temporary:
        pq.write_table(pa.table(typed_columns(rows)), temporary)
    return path
