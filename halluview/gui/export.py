"""File › Export and sessions: what the user takes away. Every write goes through core writers (atomic).

Each export returns the path it wrote (None when nothing was written), so the caller can say where it saved.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PySide6.QtWidgets import QFileDialog

from ..core.experiment import Experiment
from ..core.figure import FORMATS, RunFigure, figure_from_result, save_figure, units_of
from ..core.problem import derived_scan
from ..core.report import report_dict, write_outputs
from ..core.units import unit_map
from .dialogs import show_error

SESSION_VERSION = 1
DESCRIPTION = "HalluView adversarial reconstruction (not for diagnosis)"
FIGURE_FILTERS = {"PNG image, 300 dpi (*.png)": ".png", "SVG, vector text (*.svg)": ".svg", "PDF (*.pdf)": ".pdf"}


def _selected_result(window):
    record = window.session.selected
    if record is None or record.result is None:
        show_error(window, "There is no finished attack to export yet. Run one first, or pick one in the run "
                           "history.")
        return None, None
    return record, record.result


def _scan_of(record, scan):
    """The open scan if the run was made on it (its recorded source) from the slice's image, else None: the user
    may have opened another, and a reconstruction of the file's own k-space is not in the slice's units."""
    from ..core.choices import attacked

    facts = record.experiment.get("scan_facts") or {}
    if scan is None or (facts.get("source") and facts["source"] != scan.source):
        return None
    return None if attacked(record.experiment)["measurement"] == "the file's own k-space" else scan


def _pixel_spacing(scan, shape: tuple[int, int]) -> tuple[float, float] | None:
    """(row, column) mm of one reconstructed pixel; None for phantoms and plain arrays, whose spacing is unknown."""
    if scan is None or (scan.modality not in ("CT", "MR") and scan.affine is None):
        return None
    rows, cols = scan.volume.shape[1:]
    return float(scan.spacing_mm[1]) * rows / shape[0], float(scan.spacing_mm[2]) * cols / shape[1]


def figure_for_run(record, scan=None, levels: tuple[float, float] | None = None) -> RunFigure:
    """The figure of a finished run record: images, colour bar and window in the scan's units when ``scan`` is the
    one it ran on (a scale bar when its pixel spacing is known), the region outlined and magnified, the caption.

    ``levels`` is the panels' grey window in working units (``ImagePanels.levels()``), kept in the figure.
    """
    result = record.result
    scan = _scan_of(record, scan)
    index = record.experiment.get("source", {}).get("slice") or 0
    units = unit_map(scan.slice_image(index), scan.units) if scan is not None else units_of(result.config)
    window = None if levels is None else (float(units.to_scan(levels[0])), float(units.to_scan(levels[1])))
    return figure_from_result(result, units=units, region=record.region, window=window,
                              pixel_spacing_mm=_pixel_spacing(scan, result.clean.shape))


def _figure_path(window, record) -> str:
    chosen, selected = QFileDialog.getSaveFileName(window, "Export the run as a figure", f"run-{record.number}.png",
                                                   ";;".join(FIGURE_FILTERS))
    if chosen and Path(chosen).suffix.lower() not in FORMATS:
        chosen += FIGURE_FILTERS.get(selected, ".png")  # no suffix typed: the chosen filter's
    return chosen


def export_figure(window, path: str | None = None) -> Path | None:
    """The shown run as a figure (clean / perturbed / difference, zoomed region, colour bar, scale bar, caption):
    PNG at 300 dpi, SVG or PDF by the file's suffix. Returns where it saved, or None."""
    record, result = _selected_result(window)
    if result is None:
        return None
    path = path or _figure_path(window, record)
    if not path:
        return None
    panels = getattr(window, "panels", None)
    levels = panels.levels() if panels is not None else None
    try:
        return save_figure(figure_for_run(record, window.session.scan, levels), path)
    except (OSError, ValueError) as err:
        show_error(window, f"Could not write the figure to {path}: {err}")
        return None


def export_png(window, path: str | None = None) -> Path | None:
    """File › Export's figure action (kept under its old name): :func:`export_figure`."""
    return export_figure(window, path)


def export_panels_png(window, path: str | None = None) -> Path | None:
    """The panels as they are on screen (a screenshot of the central area), as PNG."""
    path = path or QFileDialog.getSaveFileName(window, "Save the panels as PNG", "halluview-panels.png",
                                               "PNG (*.png)")[0]
    if not path:
        return None
    if not window.centralWidget().grab().save(path, "PNG"):
        show_error(window, f"Could not write {path}.")
        return None
    return Path(path)


def export_report(window, folder: str | None = None) -> Path | None:
    """report.json, report.html, images and arrays of the shown run in ``folder``/run-N; returns that folder."""
    record, result = _selected_result(window)
    if result is None:
        return None
    folder = folder or QFileDialog.getExistingDirectory(window, "Folder for the report")
    if not folder:
        return None
    out = Path(folder) / f"run-{record.number}"
    try:
        write_outputs(result, out)
    except OSError as err:
        show_error(window, f"Could not write the report to {out}: {err}")
        return None
    return out


def _perturbed_scan(window):
    record, result = _selected_result(window)
    if result is None:
        return None
    session = window.session
    index = record.experiment["source"]["slice"] or 0
    return derived_scan(session.scan, index, result.perturbed, DESCRIPTION)


def export_nifti(window, path: str | None = None) -> Path | None:
    from ..core.io import ScanWriteError, write_nifti

    scan = _perturbed_scan(window)
    if scan is None:
        return None
    path = path or QFileDialog.getSaveFileName(window, "Export as NIfTI", "perturbed.nii.gz",
                                               "NIfTI (*.nii *.nii.gz)")[0]
    if not path:
        return None
    try:
        write_nifti(path, scan.volume, scan)
    except (ScanWriteError, OSError) as err:
        show_error(window, str(err))
        return None
    return Path(path)


def export_dicom(window, folder: str | None = None, copy_identifying: bool = False) -> Path | None:
    """The perturbed slice as a derived DICOM: anonymous, or (``copy_identifying``) in the source's study,
    referencing the source image, to overlay on it in a PACS."""
    from ..core.io import ScanWriteError, write_dicom_series

    scan = _perturbed_scan(window)
    if scan is None:
        return None
    folder = folder or QFileDialog.getSaveFileName(window, "Export as a DICOM series (new folder)",
                                                   "perturbed-dicom")[0]
    if not folder:
        return None
    try:
        write_dicom_series(folder, scan.volume, scan, description=DESCRIPTION, copy_identifying=copy_identifying)
    except (ScanWriteError, OSError) as err:
        show_error(window, str(err))
        return None
    return Path(folder)


def session_dict(session) -> dict:
    """Settings, regions, slice and every finished run's report (numbers and configuration)."""
    return {"halluview_session": SESSION_VERSION, "experiment": session.experiment.to_dict(),
            "slice": session.slice_index, "regions": session.regions.shapes,
            "runs": [report_dict(r.result) for r in session.runs if r.result is not None]}


def save_session(window, path: str | None = None) -> Path | None:
    """Settings, regions and every finished run in ``path`` (and their images in a .npz beside it)."""
    from ..core.report import save_json

    path = path or QFileDialog.getSaveFileName(window, "Save session", "session.halluview.json",
                                               "HalluView session (*.json)")[0]
    if not path:
        return None
    try:
        save_json(path, session_dict(window.session))
        arrays = {f"run{i}_{name}": getattr(r.result, name) for i, r in enumerate(
            [r for r in window.session.runs if r.result is not None]) for name in ("clean", "perturbed", "delta")}
        if arrays:
            np.savez_compressed(str(Path(path).with_suffix(".npz")), **arrays)
    except OSError as err:
        show_error(window, f"Could not save the session: {err}")
        return None
    return Path(path)


def open_session(window, path: str | None = None) -> None:
    """Restore settings, the scan, the slice and the regions; past runs can be re-run from their settings.

    A checkpoint that holds pickled code is not loaded on the file's word: the app asks (ModelPanel)."""
    path = path or QFileDialog.getOpenFileName(window, "Open session", "", "HalluView session (*.json)")[0]
    if not path:
        return
    try:
        data = json.loads(Path(path).read_text())
        experiment = Experiment.from_dict(data["experiment"])
    except (OSError, ValueError, KeyError, TypeError) as err:
        show_error(window, f"{path} is not a HalluView session: {err}")
        return
    session = window.session

    def restore(_problem=None) -> None:
        session.scanChanged.disconnect(restore)
        for shape in data.get("regions", []):
            session.regions.add(shape)
        session.regions_edited()
        session.set_slice(int(data.get("slice", 0)))

    session.scanChanged.connect(restore)
    session.restore(experiment)  # the saved settings stand (no adapting to the scan); never its allow_pickle
