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
