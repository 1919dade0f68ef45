"""The suite's own rules: an unexpected skip fails the run, and every test has a time limit."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_suite(folder: Path, body: str) -> subprocess.CompletedProcess:
    """pytest on one test file beside a copy of our conftest and settings."""
    shutil.copy(ROOT / "tests" / "conftest.py", folder / "conftest.py")
    shutil.copy(ROOT / "pyproject.toml", folder / "pyproject.toml")
    (folder / "data").mkdir()
    (folder / "test_sample.py").write_text(body)
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_sample.py"],
                          cwd=folder, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": ""})


def test_an_unexpected_skip_fails_the_run(tmp_path):
    done = run_suite(tmp_path, "import pytest\n\ndef test_x():\n    pytest.skip('optional thing missing')\n")
    assert done.returncode == 1 and "unexpected skips fail the run" in done.stdout


def test_a_skip_that_depends_on_the_machine_passes(tmp_path):
    done = run_suite(tmp_path, "import pytest\n\ndef test_x():\n    pytest.skip('needs a CUDA device')\n")
    assert done.returncode == 0, done.stdout


def test_a_hanging_test_fails_at_its_time_limit(tmp_path):
    body = "import time\nimport pytest\n\n@pytest.mark.timeout(2)\ndef test_x():\n    time.sleep(60)\n"
    done = run_suite(tmp_path, body)
    assert done.returncode == 1 and "Timeout" in done.stdout
