"""Ctrl-C that always works in the command line, even inside a long torch call.

Python runs its SIGINT handler only between bytecodes of the main thread; a TorchScript model that loops, or one
huge kernel, never returns to it. Here SIGINT is blocked in every thread but a watcher, which interrupts the main
thread the Python way (KeyboardInterrupt at its next bytecode: files are closed, partial outputs removed) and,
when the main thread has not finished after a grace period, ends the process with exit code 130. Outputs are
written to a hidden folder renamed at the end, so nothing half-written is left behind either way.
"""
from __future__ import annotations

import _thread
import os
import signal
import sys
import threading

GRACE_S = 3.0
EXIT_INTERRUPTED = 130


def install(prog: str = "halluview-cli") -> bool:
    """Route SIGINT to a watcher thread (POSIX only); call before torch starts its threads. True when installed."""
    if not hasattr(signal, "pthread_sigmask") or threading.current_thread() is not threading.main_thread():
        return False
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})

    def watch() -> None:
        signal.sigwait({signal.SIGINT})
        _thread.interrupt_main(signal.SIGINT)
        try:
            signal.sigtimedwait({signal.SIGINT}, GRACE_S)  # a second Ctrl-C, or the grace period, ends it
        finally:
            print(f"{prog}: interrupted", file=sys.stderr, flush=True)
            os._exit(EXIT_INTERRUPTED)

    threading.Thread(target=watch, name="sigint-watcher", daemon=True).start()
    return True
