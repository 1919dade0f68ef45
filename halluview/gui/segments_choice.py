"""Attack › Segments: the label file that segment RMSE and radiomic feature similarity run over (the experiment's
``segments``), or the automatic segments (SLIC on the reference).

A label file is checked when it is chosen and again before a run, against the slice the attack will reconstruct
(:func:`halluview.core.quality.segments.load_segments`), so a file that does not fit costs no attack: the app's
error dialog names the file and the problem in one line.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from ..core.errors import ExperimentError
from .dialogs import show_error

LABEL_FILTER = "NIfTI label maps (*.nii *.nii.gz);;All files (*)"
AUTOMATIC_TIP = ("Segment the reference automatically (SLIC over-segmentation: small patches of similar tissue) "
                 "for the segment errors and radiomic similarity")
LOAD_TIP = ("Use your own segmentation: a NIfTI label map aligned with the scan (0: background, every other "
            "whole number one segment) for MaxSRMSE, MeanSRMSE and RFS")


def check_segments(session, path: str | None = None) -> None:
    """Raise ExperimentError (naming the file) when the label file ``path`` (default: the experiment's) does not fit
    the slice the next attack reconstructs; nothing to check before the first picture or without a file."""
    from ..core.quality.segments import load_segments

    path = path or session.experiment.segments
    if not path or session.preview is None:
        return
    shape = tuple(session.preview.clean.shape[-2:])
    load_segments(path, shape, session.experiment.source.slice or 0)


def choose_segments(window, path: str) -> bool:
    """Take the label file ``path`` for the experiment if it fits this slice; otherwise say why. Returns whether
    it was taken."""
    path = str(Path(path).resolve())
    try:
        check_segments(window.session, path)
    except ExperimentError as err:
        show_error(window, str(err))
        return False
    if not window.session.update(segments=path):
        return False
    window.say(f"Segments for the clinical metrics: {Path(path).name}")
    return True


def load_segments_dialog(window) -> None:
    path, _ = QFileDialog.getOpenFileName(window, "Load segments (a label map)", "", LABEL_FILTER)
    if path:
        choose_segments(window, path)


def automatic_segments(window) -> None:
    if window.session.update(segments=None):
        window.say("Segments for the clinical metrics: automatic (SLIC)")
