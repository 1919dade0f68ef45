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
