"""What the study window exports: the ΔSSIM figure (SVG from :mod:`halluview.core.study.figures`), a copy of the
table (CSV) and the summary report (HTML and SVG figures, :func:`halluview.core.study.report.write_summary`).

Each export returns the path it wrote (None when the user cancelled), so the window can say where it saved.
"""
from __future__ import annotations

import shutil
from dataclasses import asdict
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QWidget

from ..core.atomic import write_text_atomic
from ..core.study.local import TABLE


def _save_path(parent: QWidget, title: str, suggested: Path, pattern: str) -> Path | None:
    path, _ = QFileDialog.getSaveFileName(parent, title, str(suggested), pattern)
    if not path:
        return None
    path = Path(path)
    return path if path.suffix else path.with_suffix(suggested.suffix)


def export_figure(parent: QWidget, folder: Path, rows: list[dict], metric: str = "ssim") -> Path | None:
    """ΔSSIM against ε for every reconstruction as an SVG (the core's figure: the report's, with vector text)."""
    from ..core.study.figures import delta_figure

    path = _save_path(parent, "Save the figure", folder / f"delta_{metric}.svg", "SVG, vector text (*.svg)")
    if path is None:
        return None
    return write_text_atomic(path, delta_figure(rows, metric))


def export_table(parent: QWidget, folder: Path) -> Path | None:
    """A copy of the study's table (study.csv, every finished and failed cell) where the user chooses."""
    source = folder / TABLE
    if not source.is_file():
        raise FileNotFoundError(f"{source}: the study has no table yet; run it first")
    path = _save_path(parent, "Save a copy of the table", folder.parent / f"{folder.name}.csv", "CSV table (*.csv)")
    if path is None:
        return None
    if path.resolve() != source.resolve():
        partial = path.with_name(path.name + ".part")
        shutil.copyfile(source, partial)
        partial.replace(path)
    return path


def export_report(folder: Path, rows: list[dict], config) -> list[Path]:
    """The summary report (HTML with its SVG figures) into the study's own folder, beside its table."""
    from ..core.report import versions
    from ..core.study.report import write_summary

    return write_summary(folder, rows, asdict(config), versions())
