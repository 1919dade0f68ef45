"""Guard against the PySide6 6.12.0 bug that drops a reference to True on every signal emit (a crash after
enough emits on Python < 3.12): the installed binding must keep True's reference count steady."""
import sys

from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    ping = Signal(int)


def test_signal_emit_keeps_the_reference_count_of_true(qapp):
    emitter = _Emitter()
    before = sys.getrefcount(True)
    for _ in range(200):
        emitter.ping.emit(1)
    assert sys.getrefcount(True) >= before - 5
