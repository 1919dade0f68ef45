"""Shared test setup: the generated-fixture helpers in tests/data are importable from every test, and a run with
an unexpected skip fails (a skip must never hide an untested feature)."""
import os
import sys
from pathlib import Path

import pytest

TEST_DATA = Path(__file__).resolve().parent / "data"
if str(TEST_DATA) not in sys.path:
    sys.path.insert(0, str(TEST_DATA))

EXPECTED_SKIPS = ("needs a CUDA device", "this machine has CUDA", "root writes into read-only folders")
"""Skips that depend on the machine alone; any other skip fails the run."""


def pytest_configure(config):
    """Tests in parallel worker processes (pytest -n): one torch thread each, so workers do not fight over the
    cores (two-thread workers on two cores ran many times slower); CLI runs they start inherit it."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        os.environ["OMP_NUM_THREADS"] = "1"
        import torch

        torch.set_num_threads(1)


def unexpected_skips(reports) -> list[str]:
    """The skip reasons among ``reports`` that are not in :data:`EXPECTED_SKIPS`."""
    reasons = [str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) else str(report.longrepr)
               for report in reports]
    return [reason for reason in reasons if not any(expected in reason for expected in EXPECTED_SKIPS)]


def pytest_sessionfinish(session, exitstatus):
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None or exitstatus != pytest.ExitCode.OK:
        return
    unexpected = unexpected_skips(reporter.stats.get("skipped", []))
    if unexpected:
        reporter.write_line(f"unexpected skips fail the run: {unexpected}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(autouse=True)
def _torch_threads_kept():
    """A test that sets torch's thread count (numbers depend on it) leaves the next test the count it found."""
    import torch

    before = torch.get_num_threads()
    yield
    if torch.get_num_threads() != before:
        torch.set_num_threads(before)
