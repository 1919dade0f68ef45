"""Menus, the toolbar and their shortcuts (kept apart from the window's layout)."""
from __future__ import annotations

from functools import partial

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMenu, QToolButton

from ..core.samples import SAMPLES
from .colormaps import IMAGE_COLORMAPS
from .dialogs import show_shortcuts

OPEN_FILTER = "Scans (*.dcm *.DCM *.nii *.nii.gz *.h5 *.hdf5 *.npy *.npz);;All files (*)"


def _action(window, text: str, slot, shortcut: str | None = None, tip: str | None = None) -> QAction:
    action = QAction(text, window)
    action.triggered.connect(slot)
    if shortcut:
        action.setShortcut(QKeySequence(shortcut))
    if tip:
        action.setToolTip(tip)
        action.setStatusTip(tip)
    return action


def _open_dialog(window) -> None:
    path, _ = QFileDialog.getOpenFileName(window, "Open a scan", "", OPEN_FILTER)
    if path:
        window.open_path(path)


def _open_folder(window) -> None:
    path = QFileDialog.getExistingDirectory(window, "Open a DICOM folder")
    if path:
        window.open_path(path)


def build(window) -> None:
    from . import segments_choice

    bar = window.menuBar()
    window.actions_by_name = acts = {
        "open": _action(window, "&Open…", partial(_open_dialog, window), "Ctrl+O", "Open a scan file"),
        "open_folder": _action(window, "Open &folder…", partial(_open_folder, window), "Ctrl+Shift+O",
                               "Open a folder of DICOM files"),
        "run": _action(window, "Run ▶", window.run_attack, "Ctrl+R",
                       "Search for the worst perturbation within the budget and show what it does"),
        "pause": _action(window, "Pause", window.toggle_pause, "Space", "Pause or resume the attack"),
        "cancel": _action(window, "Cancel", window.session.cancel_run, "Esc", "Stop the attack"),
        "compare_recons": _action(window, "Compare reconstructions…", partial(_open_study, window), None,
                                  "Attack several reconstructions of this scan at several budgets and compare them"),
        "export_png": _action(window, "Figure (PNG, SVG or PDF)…", partial(_saved, window, _export("export_figure")),
                              "Ctrl+E", "Clean, perturbed and difference with colour bar, scale bar and caption"),
        "export_panels": _action(window, "Panels as on screen (PNG)…",
                                 partial(_saved, window, _export("export_panels_png"))),
        "export_report": _action(window, "Report (JSON + HTML)…", partial(_saved, window, _export("export_report"),
                                                                           "shown")),
        "export_nifti": _action(window, "Perturbed reconstruction as NIfTI…",
                                partial(_saved, window, _export("export_nifti"))),
        "export_dicom": _action(window, "Perturbed reconstruction as DICOM series…",
                                partial(_saved, window, _export("export_dicom"))),
        "export_dicom_study": _action(window, "Perturbed reconstruction as DICOM in the source's study "
                                              "(keeps patient and study)…",
                                      partial(_saved, window, _export("export_dicom", copy_identifying=True))),
        "save_session": _action(window, "&Save session…", partial(_saved, window, _export("save_session"), "all"),
                                "Ctrl+S"),
        "open_session": _action(window, "Open session…", partial(_export("open_session"), window)),
        "load_segments": _action(window, "Load segments…",
                                 partial(_segments, window, segments_choice.load_segments_dialog), None,
                                 segments_choice.LOAD_TIP),
        "automatic_segments": _action(window, "Automatic segments (SLIC)",
                                      partial(_segments, window, segments_choice.automatic_segments), None,
                                      segments_choice.AUTOMATIC_TIP),
        "quit": _action(window, "&Quit", window.quit_by_user, "Ctrl+Q"),
        "shortcuts": _action(window, "Keyboard shortcuts", partial(show_shortcuts, window), "F1"),
        "presentation": _action(window, "Presentation mode", window_toggle_presentation(window), "F11",
                                "Full screen, larger fonts and an auto-play demo; any key stops the demo"),
        "side_panels": _action(window, "Settings panels", window.show_side_panels, "Ctrl+B",
                               "Show or hide the settings on both sides: hidden, the images take the whole width"),
    }
    acts["side_panels"].setCheckable(True)
    acts["side_panels"].setChecked(True)
    file_menu = bar.addMenu("&File")
    file_menu.addActions([acts["open"], acts["open_folder"]])
    window.samples_menu = file_menu.addMenu("Open sample")
    for name, sample in SAMPLES.items():
        window.samples_menu.addAction(_action(window, sample.title, partial(window.open_sample, name)))
    window.recent_menu = file_menu.addMenu("Open recent")
    refresh_recent(window)
    file_menu.addSeparator()
    export_menu = file_menu.addMenu("Export")
    export_menu.addActions([acts["export_png"], acts["export_panels"], acts["export_report"], acts["export_nifti"],
                            acts["export_dicom"], acts["export_dicom_study"]])
    file_menu.addActions([acts["save_session"], acts["open_session"]])
    file_menu.addSeparator()
    file_menu.addAction(acts["quit"])
    _view_menu(window, bar.addMenu("&View"))
    attack_menu = bar.addMenu("&Attack")
    attack_menu.addActions([acts["run"], acts["pause"], acts["cancel"]])
    attack_menu.addSeparator()
    attack_menu.addAction(acts["compare_recons"])
    segments_menu = attack_menu.addMenu("Segments for the clinical metrics")
    segments_menu.addActions([acts["load_segments"], acts["automatic_segments"]])
    for name in ("load_segments", "automatic_segments"):
        acts[name].setCheckable(True)
    window.session.settingsChanged.connect(partial(show_segments, window))
    show_segments(window)
    analyses_menu = attack_menu.addMenu("Analyses")
    for name, tip in ANALYSIS_TIPS.items():
        acts[f"analysis_{name}"] = action = _action(window, f"{_analysis_title(name)}…",
                                                    partial(_open_analysis, window, name), None, tip)
        analyses_menu.addAction(action)
    help_menu = bar.addMenu("&Help")
    help_menu.addAction(acts["shortcuts"])
    _toolbar(window)
    set_running(window, False)


ANALYSIS_TIPS = {
    "rotation": "Rotate the object by a small angle before it is scanned: which angle damages the image most?",
    "features": "Add small discs and lines to the image: which sizes and contrasts does the reconstruction keep?",
    "invariance": "Find a very different image whose reconstruction barely changes: what does it ignore?",
    "nullspace": "Split the reconstruction's error into what the scan measured and what it could not see",
}


def _analysis_title(name: str) -> str:
    from ..core.analyses.registry import spec

    return spec(name).title


def _open_analysis(window, name: str) -> None:
    from .analysis_window import show_analysis_window

    show_analysis_window(window, name)


def _open_study(window) -> None:
    from .study_window import show_study_window

    show_study_window(window)


def _export(name: str, **options):
    """``export.<name>``, imported when its action fires: the figure code needs PIL, which the window's start
    does not."""
    def run(window):
        from . import export

        return getattr(export, name)(window, **options)

    return run


def _saved(window, export_function, keeps: str | None = None) -> None:
    """Run an export; say where it saved. ``keeps``: the runs now kept on disk ("shown" run or "all" runs)."""
    path = export_function(window)
    if path is None:
        return
    window.say(f"Saved {path}")
    session = window.session
    if keeps == "all":
        window.saved(r.number for r in session.runs)
    elif keeps == "shown" and session.selected is not None:
        window.saved([session.selected.number])


def window_toggle_presentation(window):
    def toggle() -> None:
        from .presentation import toggle_presentation

        toggle_presentation(window)
    return toggle


def _view_menu(window, menu: QMenu) -> None:
    extra = menu.addMenu("Fourth panel")
    for label, kind in (("None", None), ("Perturbation", "perturbation"), ("Reference / ground truth",
                                                                           "reference")):
        extra.addAction(_action(window, label, partial(window.panels.set_extra_panel, kind)))
    colours = menu.addMenu("Image colour map")
    for name in IMAGE_COLORMAPS:
        colours.addAction(_action(window, name, partial(window.panels.set_image_colormap, name)))
    heat = _action(window, "Difference as |Δ| heat map", lambda checked: window.panels.set_difference_mode(
        "abs" if checked else "signed"))
    heat.setCheckable(True)
    histogram = _action(window, "Window / level histogram", window.panels.show_histogram)
    histogram.setCheckable(True)
    menu.addActions([heat, histogram])
    menu.addSeparator()
    menu.addAction(window.actions_by_name["presentation"])
    menu.addAction(window.actions_by_name["side_panels"])
    for dock in (window.left_dock, window.right_dock):
        menu.addAction(dock.toggleViewAction())


def _toolbar(window) -> None:
    acts = window.actions_by_name
    toolbar = window.addToolBar("Main")
    toolbar.setObjectName("main-toolbar")
    toolbar.setMovable(False)
    toolbar.addAction(acts["open"])
    sample_button = QToolButton()
    sample_button.setText("Sample ▾")
    sample_button.setToolTip("Open a built-in example scan")
    sample_button.setMenu(window.samples_menu)
    sample_button.setPopupMode(QToolButton.InstantPopup)
    toolbar.addWidget(sample_button)
    toolbar.addSeparator()
    toolbar.addActions([acts["run"], acts["pause"], acts["cancel"]])
    window.toolbar = toolbar
    toolbar.addSeparator()
    toolbar.addAction(acts["side_panels"])


def refresh_recent(window) -> None:
    menu = window.recent_menu
    menu.clear()
    for path in window.recent_files():
        menu.addAction(_action(window, path, partial(window.open_path, path)))
    menu.setEnabled(bool(menu.actions()))


def show_paused(window, paused: bool) -> None:
    """The Pause button says what pressing it does next: "Resume ▶" while paused."""
    pause = window.actions_by_name["pause"]
    pause.setText("Resume ▶" if paused else "Pause")
    pause.setToolTip("The attack is paused: resume it" if paused else "Pause the attack (it keeps its progress)")


def _segments(window, choose, *_) -> None:
    choose(window)
    show_segments(window)  # a cancelled choice leaves the ticks as they were


def show_segments(window, *_) -> None:
    """The Segments menu ticks the segments the next attack uses, and names the label file."""
    from pathlib import Path

    path = window.session.experiment.segments
    acts = window.actions_by_name
    acts["load_segments"].setChecked(bool(path))
    acts["load_segments"].setText(f"Load segments… (now {Path(path).name})" if path else "Load segments…")
    acts["automatic_segments"].setChecked(not path)


def set_running(window, running: bool) -> None:
    acts = window.actions_by_name
    acts["run"].setEnabled(not running)
    acts["pause"].setEnabled(running)
    acts["cancel"].setEnabled(running)
    for name in ("open", "open_folder", "open_session"):
        acts[name].setEnabled(not running)
