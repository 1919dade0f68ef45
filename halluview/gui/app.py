"""`halluview [FILE]`: the desktop app. Without FILE it opens the built-in example, ready to run.

    halluview [FILE] [--screenshot OUT.png [--attack-steps N]] [--presentation]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch  # noqa: F401  - torch before the QApplication exists (its threads and Qt's must not collide)

from .demo import DEMO_SAMPLE, demo_settings, place_demo_region_once

SCREENSHOT_TIMEOUT_MS = 300_000


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="halluview", description="See where reconstructions hallucinate.")
    parser.add_argument("file", nargs="?", help="scan to open (DICOM file or folder, NIfTI, HDF5, NPY/NPZ)")
    parser.add_argument("--screenshot", metavar="OUT.png", help="save a PNG of the window and exit")
    parser.add_argument("--attack-steps", type=int, metavar="N",
                        help="with --screenshot: run the attack for N steps first (through the GUI)")
    parser.add_argument("--presentation", action="store_true", help="start in presentation mode")
    args = parser.parse_args(argv)
    if args.attack_steps is not None and not args.screenshot:
        parser.error("--attack-steps goes with --screenshot")
    if args.attack_steps is not None and args.attack_steps < 1:
        parser.error(f"--attack-steps must be at least 1, not {args.attack_steps}")
    if args.screenshot and args.file and not Path(args.file).exists():  # the window would show it in a dialog
        parser.error(f"{args.file}: no such file or folder")
    return args


def install_error_dialog(window) -> None:
    """Unexpected exceptions on the main thread become the error dialog, and the app keeps running."""
    import traceback

    from .dialogs import show_error

    def hook(kind, error, trace) -> None:
        details = "".join(traceback.format_exception(kind, error, trace))
        print(details, file=sys.stderr)
        show_error(window, f"Something went wrong: {error}", details)

    sys.excepthook = hook


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from ..core.resources import resource_path
    from .main_window import MainWindow
    from .theme import apply_dark_theme
    from .worker import reserve_a_core_for_the_interface

    reserve_a_core_for_the_interface()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("HalluView")
    app.setOrganizationName("HalluView")
    app.setWindowIcon(QIcon(str(resource_path("icons", "halluview.svg"))))
    apply_dark_theme(app)
    window = MainWindow()
    install_error_dialog(window)
    flow = None
    if args.screenshot:  # listening before anything opens: an unreadable file ends the run with its error
        from .screenshot import ScreenshotFlow

        flow = ScreenshotFlow(window, args.screenshot, args.attack_steps, SCREENSHOT_TIMEOUT_MS)
        flow.start()
    if args.file:
        window.open_path(args.file)
    else:
        demo_settings(window.session)
        place_demo_region_once(window.session)
        window.open_sample(DEMO_SAMPLE)
    window.show()
    if args.presentation:
        window.actions_by_name["presentation"].trigger()
    if flow is not None:
        app.exec()
        return flow.exit_code
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
