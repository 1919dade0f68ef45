"""GUI responsiveness: the longest main-thread stall during a 100-step attack (a 5 ms heartbeat timer; goal
≤ 50 ms) and cold start to the first painted reconstruction (a fresh process; goal ≤ 3 s).

    QT_QPA_PLATFORM=offscreen python benchmarks/gui_responsiveness.py [--steps 100] [--starts 3]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HEARTBEAT_MS = 5


def child_cold_start() -> None:
    """Runs in a fresh process: start the app on the built-in example, print seconds to the first paint."""
    started = float(os.environ["HALLUVIEW_T0"])
    from halluview.gui import app as app_module  # noqa: I001  - first, as `halluview` starts: torch before Qt

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    import halluview.gui.main_window as main_window_module

    times = {}

    def report() -> None:
        QApplication.processEvents()  # the clean reconstruction is painted
        print(f"{times['window']:.3f} {time.time() - started:.3f}", flush=True)
        QApplication.quit()

    class TimedWindow(main_window_module.MainWindow):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.session.previewReady.connect(lambda _: QTimer.singleShot(0, report))

        def paintEvent(self, event):  # the first frame of the window
            times.setdefault("window", time.time() - started)
            super().paintEvent(event)

    main_window_module.MainWindow = TimedWindow  # app.main imports it when called
    app_module.main([])


def cold_starts(count: int) -> list[tuple[float, float]]:
    """(seconds to the window's first frame, seconds to the first reconstruction painted) per fresh process."""
    times = []
    for _ in range(count):
        env = {**os.environ, "HALLUVIEW_T0": repr(time.time())}
        out = subprocess.run([sys.executable, __file__, "--child"], env=env, capture_output=True, text=True,
                             timeout=120)
        window, image = out.stdout.strip().splitlines()[-1].split()
        times.append((float(window), float(image)))
    return times


def longest_stall(steps: int) -> tuple[float, float, int]:
    """(longest gap between heartbeats beyond their interval in ms, attack seconds, steps painted)."""
    from PySide6.QtCore import QElapsedTimer, QTimer
    from PySide6.QtWidgets import QApplication

    from halluview.gui.demo import demo_region, demo_settings
    from halluview.gui.main_window import MainWindow
    from halluview.gui.theme import apply_dark_theme
    from halluview.gui.worker import reserve_a_core_for_the_interface

    reserve_a_core_for_the_interface()  # as the app does
    app = QApplication.instance() or QApplication([])
    apply_dark_theme(app)
    window = MainWindow()
    window.show()
    demo_settings(window.session)
    window.session.update(optimizer={"steps": steps})
    clock, gaps, state = QElapsedTimer(), [], {"last": None, "running": False, "steps": 0}

    def beat() -> None:
        now = clock.elapsed()
        if state["running"] and state["last"] is not None:
            gaps.append(now - state["last"] - HEARTBEAT_MS)
        state["last"] = now

    def on_preview(_problem) -> None:
        if not state["running"] and not state.get("done"):
            demo_region(window.session)
            state["running"], state["t0"] = True, time.perf_counter()
            window.run_attack()

    def on_end(_record) -> None:
        state["running"], state["done"], state["t1"] = False, True, time.perf_counter()
        QTimer.singleShot(50, app.quit)

    window.session.previewReady.connect(on_preview)
    window.session.runEnded.connect(on_end)
    window.session.stepArrived.connect(lambda _: state.__setitem__("steps", state["steps"] + 1))
    heartbeat = QTimer()
    heartbeat.setInterval(HEARTBEAT_MS)
    heartbeat.timeout.connect(beat)
    clock.start()
    heartbeat.start()
    window.open_sample("brain")
    app.exec()
    heartbeat.stop()
    window.session.jobs.wait()
    return max(gaps) if gaps else float("nan"), state["t1"] - state["t0"], state["steps"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--starts", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="a smoke run: 5 steps, one cold start")
    parser.add_argument("--json", help="also write the rows here, for benchmarks/run_all.py")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if args.child:
        child_cold_start()
        return
    import torch  # noqa: F401  - before Qt, as the app does

    if args.quick:
        args.steps, args.starts = 5, 1
    stall_ms, seconds, painted = longest_stall(args.steps)
    starts = cold_starts(args.starts)
    print(f"longest main-thread stall during a {args.steps}-step attack: {stall_ms:.1f} ms (goal ≤ 50 ms); "
          f"attack {seconds:.1f} s, {painted} steps received")
    windows, images = [w for w, _ in starts], [i for _, i in starts]
    print(f"cold start to the window's first paint: median {statistics.median(windows):.2f} s over {len(starts)} "
          f"fresh processes (min {min(windows):.2f}, max {max(windows):.2f}; goal ≤ 3 s)")
    print(f"cold start to the first reconstruction on screen: median {statistics.median(images):.2f} s "
          f"(min {min(images):.2f}, max {max(images):.2f})")
    if args.json:
        rows = [{"name": f"app: longest main-thread stall during a {args.steps}-step attack", "value":
                 round(stall_ms, 1), "unit": "ms", "goal": "≤ 50", "note": f"{painted} steps received"},
                {"name": "app: cold start to the window's first paint", "value":
                 round(statistics.median(windows), 2), "unit": "s", "goal": "≤ 3",
                 "note": f"median of {len(starts)} fresh processes; first reconstruction on screen "
                         f"{statistics.median(images):.2f} s"}]
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(rows, out, indent=1)


if __name__ == "__main__":
    main()
