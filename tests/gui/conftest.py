"""GUI tests run offscreen; torch is imported before Qt; no test may leave a worker thread or timer behind."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
import torch  # noqa: E402,F401  - torch before the QApplication (see STYLE.md)
from PySide6.QtCore import QThreadPool  # noqa: E402


@pytest.fixture(autouse=True)
def no_leftover_threads(qapp):
    yield
    pool = QThreadPool.globalInstance()
    pool.waitForDone(5000)
    assert pool.activeThreadCount() == 0, "a test left a worker thread running"


@pytest.fixture(autouse=True)
def questions_answered_yes(monkeypatch):
    """The window's questions (close with unsaved runs, ...) are answered "yes" and recorded: a modal question
    would otherwise wait forever offscreen."""
    asked = []
    monkeypatch.setattr("halluview.gui.main_window.confirm", lambda parent, question, *args: asked.append(question)
                        or True)
    return asked


@pytest.fixture
def window(qtbot, monkeypatch):
    """The main window with fast settings (zero-filled, 6 steps); error dialogs silenced; its jobs stopped after."""
    from window_helpers import FAST

    from halluview.gui import main_window as main_window_module

    monkeypatch.setattr(main_window_module, "show_error", lambda *a, **k: None)
    win = main_window_module.MainWindow()
    qtbot.addWidget(win)
    win.session.update(**FAST)
    yield win
    win.session.jobs.cancel()
    win.session.jobs.wait()


@pytest.fixture
def drawing_setup(qtbot):
    """Image panels with three blank 64 × 64 images, a session and the drawing controller on them."""
    import numpy as np

    from halluview.gui.drawing import DrawingController
    from halluview.gui.session import Session
    from halluview.gui.views import ImagePanels

    panels = ImagePanels()
    qtbot.addWidget(panels)
    panels.resize(900, 340)
    panels.show()
    qtbot.waitExposed(panels)
    shape = (64, 64)
    panels.set_images(clean=np.zeros(shape), perturbed=np.zeros(shape), difference=np.zeros(shape))
    session = Session()
    return panels, session, DrawingController(panels, session)
