"""File › Export and sessions: what the user takes away. Every write goes through core writers (atomic)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PySide6.QtWidgets import QFileDialog

from ..core.experiment import Experiment
from ..core.problem import derived_scan
from ..core.report import report_dict, write_outputs
from .dialogs import show_error

SESSION_VERSION = 1
DESCRIPTION = "HalluView adversarial reconstruction (not for diagnosis)"


def _selected_result(window):
    record = window.session.selected
    if record is None or record.result is None:
        show_error(window, "There is no finished attack to export yet. Run one first, or pick one in the run "
                           "history.")
        return None, None
    return record, record.result


def export_png(window, path: str | None = None) -> None:
    path = path or QFileDialog.getSaveFileName(window, "Export panels as PNG", "halluview.png", "PNG (*.png)")[0]
    if path:
        if not window.centralWidget().grab().save(path, "PNG"):
            show_error(window, f"Could not write {path}.")


def export_report(window, folder: str | None = None) -> None:
    record, result = _selected_result(window)
    if result is None:
        return
    folder = folder or QFileDialog.getExistingDirectory(window, "Folder for the report")
    if not folder:
        return
    out = Path(folder) / f"run-{record.number}"
    try:
        write_outputs(result, out)
    except OSError as err:
        show_error(window, f"Could not write the report to {out}: {err}")


def _perturbed_scan(window):
    record, result = _selected_result(window)
    if result is None:
        return None
    session = window.session
    index = record.experiment["source"]["slice"] or 0
    return derived_scan(session.scan, index, result.perturbed, DESCRIPTION)


def export_nifti(window, path: str | None = None) -> None:
    from ..core.io import ScanWriteError, write_nifti

    scan = _perturbed_scan(window)
    if scan is None:
        return
    path = path or QFileDialog.getSaveFileName(window, "Export as NIfTI", "perturbed.nii.gz",
                                               "NIfTI (*.nii *.nii.gz)")[0]
    if path:
        try:
            write_nifti(path, scan.volume, scan)
        except (ScanWriteError, OSError) as err:
            show_error(window, str(err))


def export_dicom(window, folder: str | None = None) -> None:
    from ..core.io import ScanWriteError, write_dicom_series

    scan = _perturbed_scan(window)
    if scan is None:
        return
    folder = folder or QFileDialog.getSaveFileName(window, "Export as a DICOM series (new folder)",
                                                   "perturbed-dicom")[0]
    if folder:
        try:
            write_dicom_series(folder, scan.volume, scan, description=DESCRIPTION)
        except (ScanWriteError, OSError) as err:
            show_error(window, str(err))


def session_dict(session) -> dict:
    """Settings, regions, slice and every finished run's report (numbers and configuration)."""
    return {"halluview_session": SESSION_VERSION, "experiment": session.experiment.to_dict(),
            "slice": session.slice_index, "regions": session.regions.shapes,
            "runs": [report_dict(r.result) for r in session.runs if r.result is not None]}


def save_session(window, path: str | None = None) -> None:
    from ..core.report import save_json

    path = path or QFileDialog.getSaveFileName(window, "Save session", "session.halluview.json",
                                               "HalluView session (*.json)")[0]
    if not path:
        return
    try:
        save_json(path, session_dict(window.session))
        arrays = {f"run{i}_{name}": getattr(r.result, name) for i, r in enumerate(
            [r for r in window.session.runs if r.result is not None]) for name in ("clean", "perturbed", "delta")}
        if arrays:
            np.savez_compressed(str(Path(path).with_suffix(".npz")), **arrays)
    except OSError as err:
        show_error(window, f"Could not save the session: {err}")


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
