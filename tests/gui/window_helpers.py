"""Driving the main window in tests: open and wait for the reconstruction, run and wait for the end."""
from __future__ import annotations

TIMEOUT_MS = 60_000
FAST = {"recon": {"name": "zero-filled"}, "optimizer": {"steps": 6}, "threat": {"eps": 0.03}}


def open_and_wait(qtbot, win, opener, *args):
    with qtbot.waitSignal(win.session.previewReady, timeout=TIMEOUT_MS):
        opener(*args)


def run_and_wait(qtbot, win):
    with qtbot.waitSignal(win.session.runEnded, timeout=TIMEOUT_MS) as blocker:
        win.run_attack()
    return blocker.args[0]
